"""`coop serve --demo`: a demo configuration, demo users, a fake platform and sample traffic.

- `coop.demo.setup` applies demo.yaml, creates the demo users and an API key (needs Django);
- `coop.demo.platform` is the fake platform: it receives Coop's webhooks, verifies their
  signatures and shows them on a page (no Django);
- `coop.demo.feeder` generates sample items, reports and appeals and sends them through the
  platform API (no Django).

See docs/demo.md.
"""
