"""Review Console pages (review.md): queues, the job view and its decision panel, Recent
Decisions. Views parse, check permissions, call the domain services and render."""
