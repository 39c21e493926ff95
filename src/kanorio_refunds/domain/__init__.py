"""The pure domain: value objects, statuses and refund rules. No I/O, clock or randomness."""
