"""The three built-in actions. They always exist and cannot be changed or deleted."""

MANUAL_REVIEW = "coop.manual-review"
MANUAL_REVIEW_AUTHOR = "coop.manual-review-author"
NCMEC = "coop.ncmec"

BUILTIN_ACTIONS = {
    MANUAL_REVIEW: (
        "Send to Manual Review",
        "Creates a review job for the item, routed by the routing rules.",
    ),
    MANUAL_REVIEW_AUTHOR: (
        "Send Author to Manual Review",
        "Creates a review job for the item's author (a USER job).",
    ),
    NCMEC: (
        "Enqueue to NCMEC",
        "Creates a user-level NCMEC review job for the user and all of their media.",
    ),
}

RESERVED_PREFIX = "coop."
