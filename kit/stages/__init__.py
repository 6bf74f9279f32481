"""Pure computation, in the order data flows: clean -> layering -> personas -> clv -> strategy."""
