"""Candidate against stable on the same window: per-metric statistics (``stats``), the sequential decision
(``sequential``) and where the counts come from (``fetch``)."""
