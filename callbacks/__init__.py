"""Framework adapters: each maps a framework's training events to trackboard logs.

Import the one for your framework (this package itself imports no framework):

- ``trackboard.callbacks.lightning``: ``TrackboardLogger``, ``ConfusionMatrixCallback``
- ``trackboard.callbacks.keras``: ``TrackboardCallback`` (Keras 3, any backend)
- ``trackboard.callbacks.transformers``: ``TrackboardCallback`` (Hugging Face ``Trainer``)

All three take ``project=``, ``experiment=`` (a name or an experiment object) and ``client=``,
fall back to ``TRACKBOARD_PROJECT`` / ``TRACKBOARD_EXPERIMENT``, log per-step metrics as LINE at
the optimizer step, hyperparameters as the TABLE ``parameters`` and, for classifiers, a final
``confusion_matrix`` (HEATMAP) with its ``labelmap`` and ``evaluation``. They log from global
rank zero only, open their experiment on first use, and turn tracking failures into a
``TrackingWarning`` instead of an exception in the training loop.
"""

from trackboard import TrackingWarning  # the one warning class of all of trackboard

__all__ = ["TrackingWarning"]
