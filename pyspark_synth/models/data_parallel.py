"""One process of a data-parallel fit: its rank, its shard of the rows, the collectives its training loop needs.

A model trained data-parallel (`AutoregressiveModel.fit(..., data_parallel=...)`) runs the same
code in every process of a torch process group: every process holds the whole (bounded) training
sample and fits the same encodings from it, draws the same batch order and column orders from the
same seed, and computes the loss of its own shard of each batch; torch's
`DistributedDataParallel` all-reduces the gradients, so every process takes the same optimiser
step. What the loop decides (the epoch's losses, early stopping, the time budget) is all-reduced
here too, so every process decides the same. Pure torch (no Spark): the Spark layer
(`spark.torch_distributor`) starts the processes with `TorchDistributor`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["DataParallel"]


class DataParallel:
    """This process's place in an initialised torch process group.

    Args:
        rank: This process's rank (0 .. world - 1).
        world: Processes in the group.
        device: Where this process trains ("cpu", "cuda:0", ...).
        backend: The process group's backend ("gloo" on CPUs, "nccl" on GPUs).
    """

    def __init__(self, rank: int, world: int, device: str = "cpu", backend: str = "gloo") -> None:
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"DataParallel: rank {rank} is not in a group of {world} processes")
        self.rank = int(rank)
        self.world = int(world)
        self.device = device
        self.backend = backend

    @classmethod
    def from_environment(cls, *, use_gpu: bool = False) -> DataParallel:
        """Join the process group that the launcher (torchrun, as `TorchDistributor` starts it) describes
        in the environment (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`, `LOCAL_RANK`).

        Args:
            use_gpu: Train on this process's GPU over NCCL (else on the CPU over gloo).

        Raises:
            RuntimeError: The environment names no process group, or `use_gpu` and no GPU is visible.
        """
        import torch
        import torch.distributed as dist

        missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing:
            raise RuntimeError(f"DataParallel.from_environment: {missing} are not set; run under torchrun or "
                               "TorchDistributor (pyspark_synth.spark.torch_distributor starts it)")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if use_gpu:
            if not torch.cuda.is_available():
                raise RuntimeError("DataParallel: use_gpu=True but this process sees no GPU "
                                   f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
            device, backend = f"cuda:{local % torch.cuda.device_count()}", "nccl"
            torch.cuda.set_device(device)
        else:
            device, backend = "cpu", "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
        return cls(dist.get_rank(), dist.get_world_size(), device, backend)

    def barrier(self) -> None:
        """Wait until every process of the group is here (before leaving it: a process that tears
        its group down while another still receives its last broadcast aborts under load)."""
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (the launcher's processes end after their function returns)."""
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

    # ------------------------------------------------------------------ what each process computes
    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This process's share of `rows` (every `world`-th row from its rank: the shards differ by at
        most one row, and together they are `rows`)."""
        return rows[self.rank::self.world]

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """`module` in `DistributedDataParallel`: calling it computes this shard's loss, and its
        backward pass all-reduces (averages) the gradients over the processes. The module's
        forward must run the same graph on every call."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [int(self.device.split(":")[1])] if self.device.startswith("cuda:") else None
        # static_graph: every step runs the same graph, so parameters it never uses (the context
        # weights of a model without context) are found once instead of failing the all-reduce
        return DistributedDataParallel(module, device_ids=ids, static_graph=True)

    # ------------------------------------------------------------------ what every process agrees on
    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the processes (float64; the same result on every process)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return [float(v) for v in t.cpu().tolist()]

    def any(self, flag: bool) -> bool:
        """True on every process when `flag` is true on any of them."""
        return self.sum([1.0 if flag else 0.0])[0] > 0

    def broadcast_bytes(self, data: bytes | None) -> bytes:
        """Rank 0's `data` on every process."""
        import torch.distributed as dist

        box = [data if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0, device=self._collective_device())
        if not isinstance(box[0], bytes | bytearray):
            raise RuntimeError("DataParallel.broadcast_bytes: rank 0 sent no bytes")
        return bytes(box[0])

    def _collective_device(self) -> torch.device:
        import torch

        return torch.device(self.device if self.backend == "nccl" else "cpu")

    def describe(self) -> dict[str, object]:
        """The setting, for a fit report."""
        return {"processes": self.world, "backend": self.backend, "device": self.device}

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, world={self.world}, device={self.device!r}, backend={self.backend!r})"
