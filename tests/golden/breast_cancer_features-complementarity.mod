# written by: nnlang 0.1.0 (--to ampl)
# spec: examples/breast_cancer_features.nnq
# options: encoding=complementarity bounds=interval
# size: 33 variables, 8 binaries, 9 integers, 24 constraints, 74 nonzeros
# highs options: presolve_rule_off = 16384 (as nnlang solves it; for a HiGHS options file)
# fingerprint: 28475e194bcd8c59
#
# AMPL model, also GNU MathProg: glpsol --math breast_cancer_features.mod --data breast_cancer_features.dat
# Indices are 0-based like the spec: x[3,4] here is x[3,4] there, and
# <app>_x[k,i] is <app>.layer[k][i] (layer 0 = the network input).

# ---- network dnn3: layer sizes 9-3-3-2; weights and biases in the .dat
# layer k (1..dnn3_K) computes act(sum{j} W[k,i,j] * layer[k-1][j] + b[k,i])
param dnn3_K integer >= 1;
param dnn3_n{k in 0..dnn3_K} integer >= 1;
param dnn3_W{k in 1..dnn3_K, i in 0..dnn3_n[k]-1, j in 0..dnn3_n[k-1]-1};
param dnn3_b{k in 1..dnn3_K, i in 0..dnn3_n[k]-1};

# ---- application y = dnn3(...): complementarity encoding
# (not GNU MathProg: glpsol cannot read the complementarity rows below; AMPL can)
# y_ACT[k]: neurons with the row x = W x[k-1] + b (stably active, or a linear layer)
# y_UNST[k]: unstable ReLU neurons (a binary each); the others are stably
# inactive, fixed to 0 by their bounds
set y_ACT{k in 1..dnn3_K} within 0..dnn3_n[k]-1;
set y_UNST{k in 1..dnn3_K} within 0..dnn3_n[k]-1;
# sound pre-activation bounds L <= W x[k-1] + b <= U of the unstable neurons
param y_L{k in 1..dnn3_K, i in y_UNST[k]} < 0;
param y_U{k in 1..dnn3_K, i in y_UNST[k]} > 0;
param y_xlb{k in 0..dnn3_K, i in 0..dnn3_n[k]-1};
param y_xub{k in 0..dnn3_K, i in 0..dnn3_n[k]-1};
var y_x{k in 0..dnn3_K, i in 0..dnn3_n[k]-1} >= y_xlb[k,i], <= y_xub[k,i];
var y_s{k in 1..dnn3_K, i in y_UNST[k]} >= 0, <= -y_L[k,i];
var y_z{k in 1..dnn3_K, i in y_UNST[k]} binary;

# ---- variables of the spec and of its norm/abs encodings
var x{i0 in 0..8} integer >= 1, <= 10;  # user, breast_cancer_features.nnq:13

# ---- objective
maximize obj:
    y_x[3,0];

# ---- y: ReLU layers
subject to y_input{j in 0..dnn3_n[0]-1}:  # the network input
    y_x[0,j] = x[j];
subject to y_act{k in 1..dnn3_K, i in y_ACT[k]}:
    y_x[k,i] = sum{j in 0..dnn3_n[k-1]-1} dnn3_W[k,i,j] * y_x[k-1,j] + dnn3_b[k,i];
subject to y_eq{k in 1..dnn3_K, i in y_UNST[k]}:
    y_x[k,i] - y_s[k,i] = sum{j in 0..dnn3_n[k-1]-1} dnn3_W[k,i,j] * y_x[k-1,j] + dnn3_b[k,i];
# the WBO master's thesis eq. 4.16: nonlinear, for MINLP solvers (z = 1: active)
subject to y_off{k in 1..dnn3_K, i in y_UNST[k]}:
    y_x[k,i] * (1 - y_z[k,i]) <= 0;
subject to y_on{k in 1..dnn3_K, i in y_UNST[k]}:
    y_s[k,i] * y_z[k,i] <= 0;

