"""The README's "Finding the best run" section, as printed there (tests/test_find_best_run.py runs it)."""

from trackboard import Client, LogType

project = Client().get_or_create_project("sweep")
for lr in (1e-1, 1e-2, 1e-3):
    with project.get_or_create_experiment(f"lr-{lr:g}", parameters={"lr": lr, "model": {"depth": 4}}) as run:
        run.log("val/loss", [1.0, lr * 10, lr * 5], LogType.LINE)
        run.log("accuracy", 1 - lr, LogType.VALUE)
        run.add_tags("sweep")

best = project.search_experiments("params.lr < 0.05 and tags contains 'sweep'",
                                  order_by=["values.accuracy DESC"], max_results=1)[0]
best.update(description="best of the sweep")
print(best.name, best.tags)
frame = project.experiments_frame("min.`val/loss` < 0.5")  # pandas: pip install 'trackboard[analysis]'
curves = project.history_frame("val/loss")                 # one long frame for seaborn / plotly
print(frame[["name", "params.lr", "values.accuracy", "min.val/loss"]])
