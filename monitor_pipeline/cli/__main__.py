"""`python -m monitor_pipeline.cli`: the same as the `monitor-pipeline` command."""

import sys

from monitor_pipeline.cli import main

sys.exit(main())
