"""The data of the WBO master's thesis' experiments (chapter 3), as nnlang reads it.

- breast_cancer.npz: the 683 complete rows of the Wisconsin breast cancer data
  (../../data/breast_cancer.csv, in the file's order), attributes divided by 10
  (so in [0.1, 1]); ``train_*`` the first 342 rows, ``test_*`` the other 341, as
  the thesis' "342 of these data points for training, while the rest of them
  will be used for testing". Class 0 benign, 1 malignant.
- energy.npz: the UCI energy efficiency data (../../data/energy_efficiency.csv,
  768 rows; target Y1, the heating load). The thesis uses 750 samples, 400 to
  train and 350 to test, without saying which: here a seeded shuffle (seed 0)
  and its first 400 and next 350 rows (18 rows unused). The features are
  standardized with the training rows' mean and standard deviation; the target
  is left in its units (kWh/m^2), so relative errors are the thesis'.

Run from anywhere: python examples/training/wbo/make_data.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data"


def breast_cancer() -> None:
    rows = np.loadtxt(DATA / "breast_cancer.csv", delimiter=",", skiprows=1)
    X, y = rows[:, :9] / 10.0, rows[:, 9].astype(int)
    np.savez(HERE / "breast_cancer.npz", train_inputs=X[:342], train_labels=y[:342],
             test_inputs=X[342:], test_labels=y[342:])


def energy() -> None:
    rows = np.loadtxt(DATA / "energy_efficiency.csv", delimiter=",", skiprows=1)
    order = np.random.default_rng(0).permutation(len(rows))
    train, test = rows[order[:400]], rows[order[400:750]]
    mean, std = train[:, :8].mean(axis=0), train[:, :8].std(axis=0)
    np.savez(HERE / "energy.npz", train_inputs=(train[:, :8] - mean) / std,
             train_targets=train[:, 8], test_inputs=(test[:, :8] - mean) / std,
             test_targets=test[:, 8], mean=mean, std=std)


if __name__ == "__main__":
    breast_cancer()
    energy()
