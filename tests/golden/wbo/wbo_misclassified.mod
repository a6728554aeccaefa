# nonconvex MINLP (a binary per sample, eqs. 3.16-3.18): the weight and bias optimization problem of the WBO master's thesis
# (ch. 3, Annex I), written by nnlang from wbo_misclassified.nnq line 8.
# loss misclassified, relu exact, layers 2-2-2, 5 samples.
# Solvers that take it: SCIP (in-process, global), or BARON/Couenne from the AMPL files.

param n;                              # samples
param K;                              # layers with weights: W[0..K-1]
param nk{k in 0..K};                  # neurons per layer, nk[0] the inputs
param lambda;                         # regularization weight (eq. 3.1)
set RELU within 1..K;                 # layers with a ReLU; the others are linear
param B;                              # |w|, |b| <= B (finite big-M constants)
param margin;                         # the right class wins by margin when z = 0
param M;                              # big-M of eq. 3.17 (interval bounds over |w| <= B)

param x0{i in 1..n, j in 1..nk[0]};   # inputs
param y{i in 1..n} integer >= 1, <= nk[K];  # classes, 1-based

var W{k in 0..K-1, i in 1..nk[k+1], j in 1..nk[k]} >= -B, <= B;  # weights
var b{k in 0..K-1, i in 1..nk[k+1]} >= -B, <= B;                 # biases
var x{i in 1..n, k in 1..K, j in 1..nk[k]};                          # layer outputs
var s{i in 1..n, k in RELU, j in 1..nk[k]} >= 0;   # negative parts (eq. 3.5)
var z{i in 1..n} binary;                            # 1: sample i may be misclassified

minimize error:
    sum{i in 1..n} z[i]
    + lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} sum{j in 1..nk[k]} W[k,i,j]^2)
    + lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} b[k,i]^2);

# exact ReLU: t = x - s (eq. 3.5)
subject to split0{i in 1..n, j in 1..nk[1]: 1 in RELU}:
    x[i,1,j] - s[i,1,j] = sum{l in 1..nk[0]} W[0,j,l] * x0[i,l] + b[0,j];

# x >= 0 (eq. 3.5)
subject to positive0{i in 1..n, j in 1..nk[1]: 1 in RELU}:
    x[i,1,j] >= 0;

# x s <= 0: one of them is zero (eq. 3.5)
subject to complementary0{i in 1..n, j in 1..nk[1]: 1 in RELU}:
    x[i,1,j] * s[i,1,j] <= 0;

# a linear layer
subject to lin0{i in 1..n, j in 1..nk[1]: 1 not in RELU}:
    x[i,1,j] = sum{l in 1..nk[0]} W[0,j,l] * x0[i,l] + b[0,j];

# exact ReLU: t = x - s (eq. 3.5)
subject to split{i in 1..n, k in 2..K, j in 1..nk[k]: k in RELU}:
    x[i,k,j] - s[i,k,j] = sum{l in 1..nk[k-1]} W[k-1,j,l] * x[i,k-1,l] + b[k-1,j];

# x >= 0 (eq. 3.5)
subject to positive{i in 1..n, k in 2..K, j in 1..nk[k]: k in RELU}:
    x[i,k,j] >= 0;

# x s <= 0: one of them is zero (eq. 3.5)
subject to complementary{i in 1..n, k in 2..K, j in 1..nk[k]: k in RELU}:
    x[i,k,j] * s[i,k,j] <= 0;

# a linear layer
subject to lin{i in 1..n, k in 2..K, j in 1..nk[k]: k not in RELU}:
    x[i,k,j] = sum{l in 1..nk[k-1]} W[k-1,j,l] * x[i,k-1,l] + b[k-1,j];

# z[i] = 0 -> the right class wins by margin (eqs. 3.16-3.17, the implication as the text means it)
subject to miss{i in 1..n, j in 1..nk[K]: j != y[i]}:
    x[i,K,j] - x[i,K,y[i]] + margin <= M * z[i];

