"""Where analytics events are kept: time partitions of the raw event tables, their retention,
and the optional ClickHouse mirror of the event stream."""
