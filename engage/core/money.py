"""Money is integer pence. Formatting lives here and nowhere else."""

from __future__ import annotations


def format_pence(pence: int, currency: str = "GBP") -> str:
    if currency != "GBP":
        raise ValueError(f"Unsupported currency {currency}")
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"
