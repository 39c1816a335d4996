"""Conversion between the generated messages and pretext_client's dataclasses (no daemon)."""

from __future__ import annotations

import dataclasses
import json
import unittest

import grpc

from pretext_client import errors, models, pb
from pretext_client.models import (
    CheckpointChoice,
    DownstreamConfig,
    Event,
    LogLevel,
    PretextConfig,
    Protocol,
    Run,
    RunKind,
    RunState,
    StateChange,
    TrainingOptions,
    event_from_proto,
    from_proto,
    run_from_proto,
    to_proto,
)

run_pb2 = pb.run_pb2
event_pb2 = pb.event_pb2


def full_run() -> "run_pb2.Run":
    """A Run with every field set to a non-default value."""
    ev = run_pb2.EvalResult(
        split="test",
        num_examples=4,
        loss=1.5,
        accuracy=0.75,
        num_classes=2,
        class_names=["a", "b"],
        per_class_accuracy=[0.5, 1.0],
        confusion_matrix=[1, 1, 0, 2],
        checkpoint="best",
        task="classification",
    )
    return run_pb2.Run(
        id="r-1",
        name="n",
        kind=run_pb2.RUN_KIND_DOWNSTREAM,
        method="supervised",
        state=run_pb2.RUN_STATE_SUCCEEDED,
        downstream=run_pb2.DownstreamConfig(
            pretext_run_id="r-0",
            checkpoint=run_pb2.CHECKPOINT_CHOICE_LAST,
            protocol=run_pb2.PROTOCOL_LINEAR_PROBE,
            dataset="cifar10",
            n_labels=100,
            fold=3,
            subset_scheme=run_pb2.SUBSET_SCHEME_CUMULATIVE,
            architecture="resnet",
            depth=20,
            training=run_pb2.TrainingOptions(
                epochs=2,
                batch_size=32,
                learning_rate=0.001,
                lr_schedule="cosine",
                plateau_patience=3,
                disable_plateau=True,
                augment=True,
                validation_fraction=0.2,
                max_steps_per_epoch=5,
                seed=2**63 + 5,
                validation_limit=64,
            ),
            test_limit=100,
        ),
        created_at_unix_ms=1_700_000_000_000,
        started_at_unix_ms=1_700_000_000_001,
        finished_at_unix_ms=1_700_000_000_002,
        error="e",
        parent_run_id="r-0",
        backend="cpu",
        seed=7,
        data_checksum="abc",
        code_revision="deadbeef",
        progress=run_pb2.Progress(
            epoch=2, epochs=2, step=6, total_steps=6, fraction=1.0, eta_seconds=0.5,
            images_per_second=100.0,
        ),
        result=run_pb2.RunResult(
            test=ev,
            validation=ev,
            best_epoch=2,
            best_val_accuracy=0.5,
            epochs_trained=2,
            train_seconds=3.25,
            extra={"knn_accuracy": 0.3, "a": 1.0},
        ),
        artifacts=[
            run_pb2.Artifact(
                name="best", kind="checkpoint", path="/x", epoch=2,
                created_at_unix_ms=1_700_000_000_003, metric=0.5,
            )
        ],
        attempts=2,
        last_seq=42,
        dataset="cifar10",
        study_id="s-1",
    )


class MirrorTest(unittest.TestCase):
    """The dataclasses and enums cover every field and value of the protos."""

    def test_dataclasses_mirror_messages(self) -> None:
        for cls, msg_cls in models._MESSAGES.items():
            with self.subTest(cls=cls.__name__):
                proto = {
                    models._field_name(cls, f.name) for f in msg_cls.DESCRIPTOR.fields
                }
                ours = {f.name for f in dataclasses.fields(cls)}
                self.assertEqual(proto, ours)

    def test_run_mirrors_run(self) -> None:
        self.assertIs(models._MESSAGES[Run], run_pb2.Run)

    def test_event_payloads_cover_oneof(self) -> None:
        oneof = event_pb2.RunEvent.DESCRIPTOR.oneofs_by_name["payload"]
        self.assertEqual({f.name for f in oneof.fields}, set(models._EVENT_PAYLOADS))
        for name, cls in models._EVENT_PAYLOADS.items():
            field = event_pb2.RunEvent.DESCRIPTOR.fields_by_name[name]
            self.assertIs(models._MESSAGES[cls].DESCRIPTOR, field.message_type)

    def test_enums_mirror_proto_enums(self) -> None:
        for cls, desc in models._ENUM_DESCRIPTORS.items():
            with self.subTest(enum=cls.__name__):
                self.assertEqual(
                    [v.name for v in desc.values],
                    [cls._prefix() + m.value for m in cls],
                )
                for m in cls:
                    self.assertIs(cls.from_proto(m.to_proto()), m)


class ConversionTest(unittest.TestCase):
    def test_run_round_trip(self) -> None:
        msg = full_run()
        run = run_from_proto(msg)
        self.assertEqual(run.kind, RunKind.DOWNSTREAM)
        self.assertEqual(run.state, "SUCCEEDED")
        self.assertTrue(run.done)
        self.assertIsNone(run.pretext)
        self.assertIs(run.config, run.downstream)
        self.assertEqual(run.downstream.protocol, Protocol.LINEAR_PROBE)
        self.assertEqual(run.downstream.training.seed, 2**63 + 5)
        self.assertEqual(run.result.test.confusion(), [[1, 1], [0, 2]])
        self.assertEqual(run.result.extra, {"a": 1.0, "knn_accuracy": 0.3})
        self.assertEqual(run.artifacts[0].created_at_unix_ms, 1_700_000_000_003)
        self.assertEqual(to_proto(run), msg)

    def test_unset_messages_are_none(self) -> None:
        run = run_from_proto(run_pb2.Run(id="r", state=run_pb2.RUN_STATE_QUEUED))
        self.assertIsNone(run.progress)
        self.assertIsNone(run.result)
        self.assertIsNone(run.config)
        self.assertEqual(run.artifacts, [])
        self.assertFalse(run.done)

    def test_to_dict_is_json(self) -> None:
        d = run_from_proto(full_run()).to_dict()
        self.assertEqual(d["state"], "SUCCEEDED")
        self.assertEqual(d["downstream"]["protocol"], "LINEAR_PROBE")
        self.assertEqual(json.loads(json.dumps(d)), d)

    def test_config_from_dicts_and_names(self) -> None:
        msg = to_proto(
            DownstreamConfig(
                protocol="fine_tune",
                checkpoint="CHECKPOINT_CHOICE_BEST",
                subset_scheme=2,
                n_labels=250,
                training={"epochs": 3, "max_steps_per_epoch": 2},
            )
        )
        self.assertEqual(msg.protocol, run_pb2.PROTOCOL_FINE_TUNE)
        self.assertEqual(msg.checkpoint, run_pb2.CHECKPOINT_CHOICE_BEST)
        self.assertEqual(msg.subset_scheme, run_pb2.SUBSET_SCHEME_CUMULATIVE)
        self.assertEqual(msg.training.epochs, 3)
        self.assertEqual(msg.training.max_steps_per_epoch, 2)
        self.assertFalse(msg.HasField("training") and msg.training.batch_size)

    def test_pretext_config(self) -> None:
        cfg = PretextConfig(
            method="rotation", dataset="cifar10", unlabeled_limit=256, depth=8,
            training=TrainingOptions(epochs=2, batch_size=32, max_steps_per_epoch=3),
        )
        msg = to_proto(cfg)
        self.assertEqual(from_proto(PretextConfig, msg), cfg)
        self.assertFalse(msg.HasField("contrastive"))

    def test_bad_inputs(self) -> None:
        with self.assertRaises(ValueError):
            Protocol.parse("sideways")
        with self.assertRaises(ValueError):
            RunState.parse(True)
        with self.assertRaises(TypeError):
            to_proto(PretextConfig(training={"epoch": 1}))

    def test_unknown_enum_number_is_unspecified(self) -> None:
        run = run_from_proto(run_pb2.Run(state=99))
        self.assertEqual(run.state, RunState.UNSPECIFIED)


class EventTest(unittest.TestCase):
    def test_every_payload(self) -> None:
        cases = {
            "state": event_pb2.RunEvent(
                seq=1, run_id="r", time_unix_ms=5,
                state=event_pb2.StateChange(
                    to=run_pb2.RUN_STATE_FAILED, message="boom",
                    **{"from": run_pb2.RUN_STATE_RUNNING},
                ),
            ),
            "step": event_pb2.RunEvent(seq=2, step=event_pb2.StepMetrics(step=3, loss=0.5, extra={"x": 1.0})),
            "epoch": event_pb2.RunEvent(seq=3, epoch=event_pb2.EpochMetrics(epoch=1, val_accuracy=0.25)),
            "log": event_pb2.RunEvent(seq=4, log=event_pb2.LogLine(level=event_pb2.LOG_LEVEL_WARN, message="w")),
            "checkpoint": event_pb2.RunEvent(
                seq=5, checkpoint=event_pb2.CheckpointSaved(artifact=run_pb2.Artifact(name="best"))
            ),
            "download": event_pb2.RunEvent(seq=6, download=event_pb2.DownloadProgress(phase="verify")),
            "result": event_pb2.RunEvent(seq=7, result=run_pb2.RunResult(best_epoch=2)),
            "study": event_pb2.RunEvent(
                seq=8, run_id="s-1",
                study=event_pb2.StudyUpdate(study=pb.study_pb2.Study(
                    id="s-1", state=pb.study_pb2.STUDY_STATE_RUNNING,
                    config=pb.study_pb2.StudyConfig(
                        label_budgets=[100, 250], folds=2,
                        arms=[pb.study_pb2.STUDY_ARM_SL, pb.study_pb2.STUDY_ARM_SSL_FINE_TUNE],
                        downstream=run_pb2.DownstreamConfig(test_limit=100),
                    ),
                    cells=[pb.study_pb2.StudyCell(n_labels=100, arm=pb.study_pb2.STUDY_ARM_SL,
                                                  run_ids=["r-1", "r-2"])],
                    gains=[pb.study_pb2.StudyGain(n_labels=100, arm=pb.study_pb2.STUDY_ARM_SSL_FINE_TUNE,
                                                  accuracy_gain_mean=0.1)],
                )),
            ),
        }
        for kind, msg in cases.items():
            with self.subTest(kind=kind):
                ev = event_from_proto(msg)
                self.assertIsInstance(ev, Event)
                self.assertEqual(ev.kind, kind)
                self.assertEqual(ev.seq, msg.seq)
                self.assertIs(type(ev.data), models._EVENT_PAYLOADS[kind])
                self.assertEqual(to_proto(ev.data), getattr(msg, kind))
                json.dumps(ev.to_dict())
        st = event_from_proto(cases["state"]).data
        self.assertEqual(st, StateChange(RunState.RUNNING, RunState.FAILED, "boom"))
        self.assertTrue(st.to_state.terminal)
        self.assertEqual(event_from_proto(cases["log"]).data.level, LogLevel.WARN)
        self.assertEqual(event_from_proto(cases["step"]).data.extra, {"x": 1.0})
        study = event_from_proto(cases["study"]).study.study
        self.assertEqual(study.state, "RUNNING")
        self.assertFalse(study.done)
        self.assertEqual(study.config.arms, ["SL", "SSL_FINE_TUNE"])
        self.assertEqual(study.cells[0].run_ids, ["r-1", "r-2"])
        self.assertIsNone(event_from_proto(cases["study"]).step)
        self.assertEqual(event_from_proto(cases["step"]).step.step, 3)

    def test_empty_payload(self) -> None:
        ev = event_from_proto(event_pb2.RunEvent(seq=9, run_id="r"))
        self.assertEqual((ev.kind, ev.data), ("", None))


class ErrorTest(unittest.TestCase):
    def test_error_classes(self) -> None:
        e = errors.error_for(grpc.StatusCode.NOT_FOUND, "no run x", "GetRun")
        self.assertIsInstance(e, errors.NotFoundError)
        self.assertIsInstance(e, errors.PretextError)
        self.assertEqual((e.code, e.message, e.code_name), (grpc.StatusCode.NOT_FOUND, "no run x", "NOT_FOUND"))
        self.assertIn("GetRun: NOT_FOUND: no run x", str(e))
        self.assertIsInstance(errors.error_for(grpc.StatusCode.UNAUTHENTICATED, ""), errors.AuthError)
        self.assertIsInstance(errors.error_for(grpc.StatusCode.DEADLINE_EXCEEDED, ""), TimeoutError)
        plain = errors.error_for(grpc.StatusCode.INTERNAL, "x")
        self.assertIs(type(plain), errors.PretextError)

    def test_checkpoint_choice_parse(self) -> None:
        self.assertIs(CheckpointChoice.parse("best"), CheckpointChoice.BEST)
        self.assertIs(CheckpointChoice.parse(2), CheckpointChoice.LAST)


if __name__ == "__main__":
    unittest.main()
