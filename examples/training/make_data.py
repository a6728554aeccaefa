"""Make the training examples' data (seeded; run from this folder).

- tiny_data.npz: 40 samples of 4 features in [0, 1], class 1 where
  x0 + x1 > x2 + x3 (linearly separable): nnlang train reaches accuracy 1.0.
- mnist_100.npz: 100 MNIST training images (pixels / 255) and labels, drawn with
  seed 4711 from the 5,000-image training subset in ../../../shared/data/mnist
  (that file is sorted by digit, so consecutive images would all be one digit),
  and the first 1,000 test images.
"""

import gzip
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[2] / "shared" / "data" / "mnist"


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist_train(seed: int = 4711) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 training images (pixels / 255) in a seeded random order."""
    with gzip.open(MNIST / "mnist_5k.csv.gz", "rt") as fh:
        D = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(len(D))
    return D[perm, :784] / 255.0, D[perm, 784]


def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    X = read_idx(MNIST / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    return X, read_idx(MNIST / "t10k-labels-idx1-ubyte.gz").astype(np.int64)


def main() -> None:
    rng = np.random.default_rng(7)
    X = rng.random((40, 4))
    y = (X[:, 0] + X[:, 1] > X[:, 2] + X[:, 3]).astype(np.int64)
    np.savez_compressed(HERE / "tiny_data.npz", inputs=X, labels=y)
    if MNIST.exists():
        Xtr, ytr = mnist_train()
        Xte, yte = mnist_test()
        np.savez_compressed(HERE / "mnist_100.npz", images=Xtr[:100].astype(np.float32),
                            labels=ytr[:100], test_images=Xte[:1000].astype(np.float32),
                            test_labels=yte[:1000])


if __name__ == "__main__":
    main()
