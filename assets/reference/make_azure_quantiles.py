"""Rebuild azure_token_quantiles.json from the Azure LLM inference traces (Splitwise, 2023, CC-BY 4.0).

    python assets/reference/make_azure_quantiles.py [../shared/data/azure-llm-inference-2023]
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared/data/azure-llm-inference-2023")
qs = np.round(np.arange(0, 1.0001, 0.005), 3)
out = {"source": "Azure/AzurePublicDataset AzureLLMInferenceTrace_{code,conv}.csv (CC-BY 4.0)", "q": qs.tolist()}
for kind in ("code", "conv"):
    df = pd.read_csv(src / f"AzureLLMInferenceTrace_{kind}.csv")
    out[kind] = {"n": len(df), "input_tokens": np.quantile(df["ContextTokens"], qs).round(1).tolist(),
                 "output_tokens": np.quantile(df["GeneratedTokens"], qs).round(1).tolist()}
(Path(__file__).parent / "azure_token_quantiles.json").write_text(json.dumps(out, indent=1))
