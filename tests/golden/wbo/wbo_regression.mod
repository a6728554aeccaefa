# smooth NLP (hyperbolic ReLU, eq. 3.10): the weight and bias optimization problem of the WBO master's thesis
# (ch. 3, Annex I), written by nnlang from wbo_regression.nnq line 8.
# loss squared, relu hyperbolic, layers 2-3-1, 5 samples.
# Solvers that take it: IPOPT (in-process, local, multi-start), or MINOS/IPOPT/KNITRO from the AMPL files.

param n;                              # samples
param K;                              # layers with weights: W[0..K-1]
param nk{k in 0..K};                  # neurons per layer, nk[0] the inputs
param lambda;                         # regularization weight (eq. 3.1)
param epsi;                           # the hyperbolic ReLU's eps (eq. 3.10)
set RELU within 1..K;                 # layers with a ReLU; the others are linear

param x0{i in 1..n, j in 1..nk[0]};   # inputs
param y{i in 1..n, j in 1..nk[K]};    # targets

var W{k in 0..K-1, i in 1..nk[k+1], j in 1..nk[k]};  # weights
var b{k in 0..K-1, i in 1..nk[k+1]};                 # biases
var x{i in 1..n, k in 1..K, j in 1..nk[k]};                          # layer outputs

minimize error:
    sum{i in 1..n} sum{j in 1..nk[K]} (x[i,K,j] - y[i,j])^2
    + lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} sum{j in 1..nk[k]} W[k,i,j]^2)
    + lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} b[k,i]^2);

# hyperbolic ReLU (eqs. 3.10, 3.12)
subject to res0{i in 1..n, j in 1..nk[1]: 1 in RELU}:
    x[i,1,j] = 0.5 * (sqrt((sum{l in 1..nk[0]} W[0,j,l] * x0[i,l] + b[0,j])^2 + epsi) + sum{l in 1..nk[0]} W[0,j,l] * x0[i,l] + b[0,j]);

# a linear layer
subject to lin0{i in 1..n, j in 1..nk[1]: 1 not in RELU}:
    x[i,1,j] = sum{l in 1..nk[0]} W[0,j,l] * x0[i,l] + b[0,j];

# hyperbolic ReLU (eqs. 3.10, 3.12)
subject to res{i in 1..n, k in 2..K, j in 1..nk[k]: k in RELU}:
    x[i,k,j] = 0.5 * (sqrt((sum{l in 1..nk[k-1]} W[k-1,j,l] * x[i,k-1,l] + b[k-1,j])^2 + epsi) + sum{l in 1..nk[k-1]} W[k-1,j,l] * x[i,k-1,l] + b[k-1,j]);

# a linear layer
subject to lin{i in 1..n, k in 2..K, j in 1..nk[k]: k not in RELU}:
    x[i,k,j] = sum{l in 1..nk[k-1]} W[k-1,j,l] * x[i,k-1,l] + b[k-1,j];

