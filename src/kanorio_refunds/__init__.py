"""Refund Stripe payments the way Kanorio's help page promises."""
