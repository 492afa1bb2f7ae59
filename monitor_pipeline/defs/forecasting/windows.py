"""The ingestion outputs the forecasting group reads: the request, resource and serving-engine window tables."""

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import ingestion

REQUEST_WINDOWS = ingestion.get_asset_spec(dg.AssetKey("request_windows"))
RESOURCE_WINDOWS = ingestion.get_asset_spec(dg.AssetKey("resource_windows"))
ENGINE_WINDOWS = ingestion.get_asset_spec(dg.AssetKey("engine_windows"))
