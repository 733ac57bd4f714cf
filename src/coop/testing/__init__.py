"""Helpers for Coop's own test suite (and for projects testing against Coop)."""
