"""Where a model runs: torch's thread count for a block of work, set and restored."""

from __future__ import annotations

__all__ = ["TorchThreads"]


class TorchThreads:
    """Torch's intra-op threads set to `n` for a block and restored afterwards; nothing when n is None.

    Torch is imported only when a count is set, so a backend without torch (the copula) never loads it.
    """

    def __init__(self, n: int | None) -> None:
        self.n = n
        self.prev: int | None = None

    def __enter__(self) -> TorchThreads:
        if self.n is None:
            return self
        import torch

        self.prev = torch.get_num_threads()
        if self.prev != self.n:
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prev is not None:
            import torch

            if torch.get_num_threads() != self.prev:
                torch.set_num_threads(self.prev)
