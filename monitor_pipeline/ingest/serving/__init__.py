"""Serving-engine signals (vLLM, SGLang, TGI): which metrics mean what, and their per-window summaries."""
