"""TrackboardCallback on real (tiny) Hugging Face Trainer runs, with a model built from a config."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    Trainer,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from trackboard.callbacks.transformers import TrackboardCallback

from cbhelpers import RecordingExperiment, only_experiment, tracking_warnings

LABELS = {0: "negative", 1: "positive"}
N_TRAIN, N_EVAL, BATCH = 24, 16, 4  # 6 batches an epoch


class Tokens(torch.utils.data.Dataset):
    """Random token ids; the label is whether the first token is in the upper half of the vocabulary."""

    def __init__(self, n: int, seed: int, per_token: bool = False) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 100, (n, 8), generator=generator)
        self.labels = (self.ids >= 50).long() if per_token else (self.ids[:, 0] >= 50).long()
        if per_token:
            self.labels[:, -2:] = -100  # padding: ignored by the loss and by the confusion matrix

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def config(**overrides) -> BertConfig:
    return BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16, id2label=LABELS,
                      label2id={v: k for k, v in LABELS.items()}, **overrides)


def arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(per_device_train_batch_size=BATCH, per_device_eval_batch_size=8, num_train_epochs=2,
                    logging_steps=1, eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True,
                    disable_tqdm=True, seed=0)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


def trainer(callback, tmp_path, model=None, per_token=False, **overrides) -> Trainer:
    torch.manual_seed(0)
    model = model or BertForSequenceClassification(config())
    return Trainer(model, arguments(tmp_path, **overrides), train_dataset=Tokens(N_TRAIN, 0, per_token),
                   eval_dataset=Tokens(N_EVAL, 1, per_token), callbacks=[callback])


def test_points_sit_at_global_steps_under_gradient_accumulation(client, tmp_path):
    trainer(TrackboardCallback(project="p", client=client), tmp_path, gradient_accumulation_steps=2).train()

    experiment = only_experiment(client)
    loss = experiment.get_log("loss").data
    assert loss["steps"] == [1, 2, 3, 4, 5, 6]  # 12 batches, an optimizer step every 2
    assert loss["epochs"] == [0, 0, 0, 1, 1, 1]
    assert experiment.get_log("learning_rate").data["steps"] == loss["steps"]
    # Eval metrics once per evaluation (on_log and on_evaluate carry the same numbers).
    assert experiment.get_log("eval_loss").data["steps"] == [3, 6]
    assert experiment.get_log("eval_loss").data["epochs"] == [0, 1]
    # The end-of-training summary is a set of values, not one-point curves.
    assert experiment.get_log("train_runtime").type.value == "VALUE"
    assert experiment.status == "SUCCESS"


def test_parameters_are_training_arguments_and_model_config(client, tmp_path):
    trainer(TrackboardCallback(project="p", client=client), tmp_path, num_train_epochs=1,
            hub_token="secret-token", lr_scheduler_type="cosine").train()
    parameters = only_experiment(client).get_log("parameters").data
    assert parameters["learning_rate"] == 5e-5 and parameters["num_train_epochs"] == 1
    assert parameters["lr_scheduler_type"] == "cosine"  # an Enum, as its value
    assert parameters["hub_token"] != "secret-token"  # TrainingArguments.to_dict() hides it
    assert parameters["model_config"]["hidden_size"] == 16
    assert parameters["model_config"]["id2label"] == {"0": "negative", "1": "positive"}


def test_confusion_matrix_for_a_classifier(client, tmp_path):
    run = trainer(TrackboardCallback(project="p", client=client), tmp_path)
    run.train()
    experiment = only_experiment(client)
    heatmap = experiment.get_log("confusion_matrix").data
    assert heatmap["categories"] == ["negative", "positive"]
    assert sum(map(sum, heatmap["values"])) == N_EVAL
    predictions = run.predict(Tokens(N_EVAL, 1)).predictions.argmax(-1)
    assert heatmap["values"][1][1] == int(((Tokens(N_EVAL, 1).labels == 1) & (torch.tensor(predictions) == 1)).sum())
    assert experiment.get_log("labelmap").data == {"0": "negative", "1": "positive"}
    evaluation = experiment.get_log("evaluation").data
    assert "eval_loss" in evaluation["metrics"] and "accuracy" in evaluation["metrics"]


def test_confusion_matrix_for_token_classification_ignores_padding(client, tmp_path):
    torch.manual_seed(0)
    model = BertForTokenClassification(config())
    trainer(TrackboardCallback(project="p", client=client), tmp_path, model=model, per_token=True,
            num_train_epochs=1).train()
    values = only_experiment(client).get_log("confusion_matrix").data["values"]
    assert sum(map(sum, values)) == N_EVAL * 6  # 8 tokens, the last 2 are -100


def test_confusion_matrix_can_be_switched_off(client, tmp_path):
    trainer(TrackboardCallback(project="p", client=client, confusion_matrix=False), tmp_path,
            num_train_epochs=1).train()
    names = {log.name for log in only_experiment(client).list_logs()}
    assert "confusion_matrix" not in names and "labelmap" in names


def test_confusion_matrix_at_the_first_evaluation_after_training_without_eval(client, tmp_path):
    run = trainer(TrackboardCallback(project="p", client=client), tmp_path, eval_strategy="no", num_train_epochs=1)
    run.train()
    assert "confusion_matrix" not in {log.name for log in only_experiment(client).list_logs()}
    run.evaluate()
    assert sum(map(sum, only_experiment(client).get_log("confusion_matrix").data["values"])) == N_EVAL


def test_predict_after_training_logs_into_the_same_experiment(client, tmp_path):
    run = trainer(TrackboardCallback(project="p", client=client), tmp_path, num_train_epochs=1)
    run.train()
    run.predict(Tokens(8, 2))
    experiment = only_experiment(client)
    assert experiment.get_log("test_loss").data["steps"] == [6]
    assert experiment.status == "SUCCESS"


def test_nothing_is_logged_on_other_ranks(client, tmp_path):
    callback = TrackboardCallback(project="p", client=client)
    args = arguments(tmp_path)
    state = TrainerState(is_world_process_zero=False, is_local_process_zero=False, global_step=3, epoch=1.0)
    control = TrainerControl()
    model = BertForSequenceClassification(config())
    loader = torch.utils.data.DataLoader(Tokens(8, 1), batch_size=4)
    callback.on_train_begin(args, state, control, model=model)
    callback.on_log(args, state, control, logs={"loss": 0.5, "epoch": 1.0})
    callback.on_evaluate(args, state, control, metrics={"eval_loss": 0.4}, model=model, eval_dataloader=loader)
    callback.on_save(args, state, control)
    callback.on_train_end(args, state, control, model=model, eval_dataloader=loader)
    callback.on_predict(args, state, control, metrics={"test_loss": 0.3})
    assert client.list_projects() == []


def test_a_broken_store_is_one_warning_and_training_finishes(broken_store_env, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = trainer(TrackboardCallback(project="p"), tmp_path)
        run.train()
    assert run.state.global_step == 12
    assert len(tracking_warnings(caught)) == 1


def test_a_store_failing_mid_run_is_a_warning_not_an_exception(unwritable_store, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = trainer(TrackboardCallback(project="p", client=unwritable_store), tmp_path)
        run.train()
    assert run.state.global_step == 12
    assert any("No space left" in message for message in tracking_warnings(caught))


def test_resuming_from_a_checkpoint_continues_the_experiment(client, tmp_path):
    trainer(TrackboardCallback(project="p", client=client), tmp_path, save_strategy="epoch",
            num_train_epochs=1).train()
    checkpoint = tmp_path / "out" / "checkpoint-6"
    assert checkpoint.is_dir()

    resumed = trainer(TrackboardCallback(project="p", client=client), tmp_path, num_train_epochs=2)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    experiment = only_experiment(client)  # no second experiment: the checkpoint named the first
    assert experiment.get_log("loss").data["steps"] == list(range(1, 13))
    assert experiment.get_log("eval_loss").data["epochs"] == [0, 1]


def test_resuming_when_trainer_recreates_callbacks_from_the_checkpoint(store_env, tmp_path):
    from trackboard import Client

    trainer(TrackboardCallback(project="p"), tmp_path, save_strategy="epoch", num_train_epochs=1).train()
    resumed = trainer(TrackboardCallback(project="p"), tmp_path, num_train_epochs=2,
                      restore_callback_states_from_checkpoint=True)
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-6"))
    assert only_experiment(Client(directory=store_env)).get_log("loss").data["steps"] == list(range(1, 13))


def test_pickles_and_logs_to_the_same_experiment(client, tmp_path):
    callback = TrackboardCallback(project="p", client=client)
    trainer(callback, tmp_path, num_train_epochs=1).train()
    clone = pickle.loads(pickle.dumps(callback))
    state = TrainerState(is_world_process_zero=True, global_step=7, epoch=1.5)
    clone.on_log(arguments(tmp_path), state, TrainerControl(), logs={"loss": 0.25})
    clone.on_train_end(arguments(tmp_path), state, TrainerControl())
    assert only_experiment(client).get_log("loss").data["steps"][-1] == 7


def test_a_foreign_experiment_object_gets_the_records(tmp_path):
    foreign = RecordingExperiment()
    trainer(TrackboardCallback(experiment=foreign), tmp_path, gradient_accumulation_steps=2).train()
    assert foreign.points("loss")["steps"] == [1, 2, 3, 4, 5, 6]
    assert foreign.points("eval_loss")["epochs"] == [0, 1]
    assert foreign.last("confusion_matrix")["categories"] == ["negative", "positive"]
    assert foreign.last("parameters")["model_config"]["hidden_size"] == 16


@pytest.mark.parametrize("log_model", [True, "all"])
def test_log_model(client, tmp_path, log_model):
    trainer(TrackboardCallback(project="p", client=client, log_model=log_model), tmp_path,
            save_strategy="epoch", num_train_epochs=1).train()
    names = {a.name for a in only_experiment(client).list_artifacts()}
    prefix = "model" if log_model is True else "checkpoint-6"
    assert {f"{prefix}/config.json", f"{prefix}/model.safetensors"} <= names
    assert (tmp_path / "out" / "checkpoint-6" / "model.safetensors").is_file()  # nothing deleted


def test_no_confusion_matrix_and_no_warning_for_a_regressor(client, tmp_path):
    class Scores(Tokens):
        def __getitem__(self, i: int) -> dict:
            return {"input_ids": self.ids[i], "labels": self.labels[i].float()}

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32,
                                                     max_position_embeddings=16, num_labels=1,
                                                     problem_type="regression"))
    callback = TrackboardCallback(project="p", client=client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(model, arguments(tmp_path, num_train_epochs=1), train_dataset=Scores(N_TRAIN, 0),
                eval_dataset=Scores(N_EVAL, 1), callbacks=[callback]).train()
    names = {log.name for log in only_experiment(client).list_logs()}
    assert "loss" in names and not names & {"confusion_matrix", "labelmap", "evaluation"}
    assert tracking_warnings(caught) == []
