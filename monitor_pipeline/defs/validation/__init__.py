"""Great Expectations suites as blocking (critical) and warning asset checks."""
