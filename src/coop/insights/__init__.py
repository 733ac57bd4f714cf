"""Dashboards: hourly rollups of the event tables, the queries the pages read, anomaly alarms."""
