"""This process's place in a multi-worker cluster."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process's place in the cluster: its index, the worker count, chief or not."""

    index: int
    count: int
    is_chief: bool

    @classmethod
    def from_strategy(cls, strategy: tf.distribute.Strategy) -> "WorkerRole":
        """Reads the role from the strategy's cluster (TF_CONFIG for MWMS).

        The chief is the `"chief"` task if the cluster has one, else worker 0
        (TensorFlow's rule). Without a cluster, the process is alone and chief.

        Raises:
            NotImplementedError: a worker has more than one replica.
        """
        resolver = getattr(strategy, "cluster_resolver", None)
        cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
        tasks = [("chief", i) for i in range(len(cluster.get("chief", [])))]
        tasks += [("worker", i) for i in range(len(cluster.get("worker", [])))]
        count = max(len(tasks), 1)
        if strategy.num_replicas_in_sync != count:
            raise NotImplementedError(
                f"Each worker must have one replica; here {count} workers have "
                f"{strategy.num_replicas_in_sync}. On hosts with several GPUs, run one worker "
                "process per GPU (CUDA_VISIBLE_DEVICES), each with its own TF_CONFIG task."
            )
        if not tasks:
            return cls(0, 1, True)
        index = tasks.index((resolver.task_type, resolver.task_id))
        return cls(index, count, index == 0)
