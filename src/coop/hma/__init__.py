"""External Hasher-Matcher-Actioner (HMA) support, used when `HMA_SERVICE_URL` is set."""
