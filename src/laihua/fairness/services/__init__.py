"""The fairness app's services: the monthly roll-up of international use (rollup), the public report read
from it (report), and the real prices computed from settled statements (real_prices)."""
