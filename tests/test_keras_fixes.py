from keras_growing_data.distribute.keras_fixes import keras_multi_worker_fixes


def test_keras_fixes_are_scoped_and_restored():
    from keras.src.backend.tensorflow import trainer as tf_trainer

    build, reduce = tf_trainer.TensorFlowTrainer._maybe_symbolic_build, tf_trainer.reduce_per_replica
    with keras_multi_worker_fixes():
        with keras_multi_worker_fixes():
            assert tf_trainer.reduce_per_replica is not reduce
        assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build is not build
    assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build is build
    assert tf_trainer.reduce_per_replica is reduce
