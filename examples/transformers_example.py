"""Hugging Face Trainer + trackboard: a tiny text classifier built from a config, on the CPU.

    python examples/transformers_example.py && trackboard ui

Nothing is downloaded: the model is a 2-layer DistilBERT made from a ``DistilBertConfig`` (with
``id2label``), the "text" is synthetic token ids. Logs to the embedded store (``TRACKBOARD_DIR``,
default ``./.trackboard``), project "transformers": ``loss``, ``grad_norm``, ``learning_rate`` at
every 5th optimizer step, ``eval_*`` every epoch, ``TrainingArguments`` and the model config,
the final confusion matrix, label map and evaluation, the training summary, and the test-set
metrics of ``trainer.predict`` after training, in the same experiment.
"""

from __future__ import annotations

import tempfile

import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification, Trainer, TrainingArguments

from trackboard.callbacks.transformers import TrackboardCallback

LABELS = {0: "negative", 1: "neutral", 2: "positive"}
VOCAB, LENGTH = 120, 16


class Reviews(torch.utils.data.Dataset):
    """Synthetic "reviews": the label is which third of the vocabulary most tokens come from."""

    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, len(LABELS), (n,), generator=generator)
        noise = torch.randint(0, VOCAB, (n, LENGTH), generator=generator)
        topical = self.labels[:, None] * (VOCAB // 3) + torch.randint(0, VOCAB // 3, (n, LENGTH), generator=generator)
        self.ids = torch.where(torch.rand(n, LENGTH, generator=generator) < 0.6, topical, noise)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(LENGTH, dtype=torch.long),
                "labels": self.labels[i]}


def main() -> None:
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=LENGTH, id2label=LABELS,
                              label2id={name: i for i, name in LABELS.items()})
    model = DistilBertForSequenceClassification(config)
    tracker = TrackboardCallback(project="transformers")
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir,
            num_train_epochs=3,
            per_device_train_batch_size=16,
            gradient_accumulation_steps=2,  # points stay at state.global_step (optimizer steps)
            learning_rate=3e-3,
            eval_strategy="epoch",
            logging_steps=5,
            save_strategy="no",
            report_to="none",  # the callback is added below
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
        )
        trainer = Trainer(model, args, train_dataset=Reviews(1200, 0), eval_dataset=Reviews(300, 1),
                          callbacks=[tracker])
        trainer.train()
        trainer.predict(Reviews(300, 2))  # test_* metrics, into the same experiment

    experiment = tracker.experiment
    accuracy = experiment.get_log("evaluation").data["metrics"]["accuracy"]
    experiment.log("validation_accuracy", accuracy, "value")
    print(f"logged to transformers/{experiment.name}: validation accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
