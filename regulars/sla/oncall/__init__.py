"""On-call rotations, escalation policies, pages and acknowledgements, and the self-test drill (F12)."""
