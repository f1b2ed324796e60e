"""Pages. Thin: every query goes through the domain's `visible_to(user)` and every
write through a domain service."""
