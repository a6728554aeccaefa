# written by: nnlang 0.1.0 (--to ampl)
# spec: examples/breast_cancer_few_changes.nnq
# options: encoding=bigm bounds=interval
# size: 48 variables, 17 binaries, 9 integers, 47 constraints, 140 nonzeros
# highs options: presolve_rule_off = 16384 (as nnlang solves it; for a HiGHS options file)
# fingerprint: c0360b95c404b4e4
#
# AMPL model, also GNU MathProg: glpsol --math breast_cancer_few_changes.mod --data breast_cancer_few_changes.dat
# Indices are 0-based like the spec: x[3,4] here is x[3,4] there, and
# <app>_x[k,i] is <app>.layer[k][i] (layer 0 = the network input).

# ---- network dnn3: layer sizes 9-3-3-2; weights and biases in the .dat
# layer k (1..dnn3_K) computes act(sum{j} W[k,i,j] * layer[k-1][j] + b[k,i])
param dnn3_K integer >= 1;
param dnn3_n{k in 0..dnn3_K} integer >= 1;
param dnn3_W{k in 1..dnn3_K, i in 0..dnn3_n[k]-1, j in 0..dnn3_n[k-1]-1};
param dnn3_b{k in 1..dnn3_K, i in 0..dnn3_n[k]-1};

# ---- application y = dnn3(...): bigm encoding
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
var x{i0 in 0..8} integer >= 1, <= 10;  # user, breast_cancer_few_changes.nnq:17
var norm0_L23{i0 in 0..8} binary;  # aux, breast_cancer_few_changes.nnq:23
param abs_L20_up_ub{i0 in 0..2};
var abs_L20_up{i0 in 0..2} >= 0, <= abs_L20_up_ub[i0];  # abs_L20.up: aux, breast_cancer_few_changes.nnq:20
param abs_L20_down_ub{i0 in 0..2};
var abs_L20_down{i0 in 0..2} >= 0, <= abs_L20_down_ub[i0];  # abs_L20.down: aux, breast_cancer_few_changes.nnq:20

# ---- objective
minimize obj:
    x[1] + x[2] + x[3] + x[5] + x[7] + x[8]
    + abs_L20_up[0] + abs_L20_up[1] + abs_L20_up[2] + abs_L20_down[0] + abs_L20_down[1] + abs_L20_down[2] - 6;

# ---- y: ReLU layers
subject to y_input{j in 0..dnn3_n[0]-1}:  # the network input
    y_x[0,j] = x[j];
subject to y_act{k in 1..dnn3_K, i in y_ACT[k]}:
    y_x[k,i] = sum{j in 0..dnn3_n[k-1]-1} dnn3_W[k,i,j] * y_x[k-1,j] + dnn3_b[k,i];
subject to y_eq{k in 1..dnn3_K, i in y_UNST[k]}:
    y_x[k,i] - y_s[k,i] = sum{j in 0..dnn3_n[k-1]-1} dnn3_W[k,i,j] * y_x[k-1,j] + dnn3_b[k,i];
subject to y_bigm_x{k in 1..dnn3_K, i in y_UNST[k]}:
    y_x[k,i] <= y_U[k,i] * y_z[k,i];
subject to y_bigm_s{k in 1..dnn3_K, i in y_UNST[k]}:
    y_s[k,i] <= -y_L[k,i] * (1 - y_z[k,i]);

# ---- constraints of the spec and of its norm/abs encodings
# wrong_class: user rows (breast_cancer_few_changes.nnq:22)
subject to wrong_class:
    - 1.2 * y_x[3,0] + y_x[3,1] >= 0;
# norm0_L23.up: aux rows (breast_cancer_few_changes.nnq:23)
subject to norm0_L23_up_0:
    x[0] - 8 * norm0_L23[0] <= 2;
subject to norm0_L23_up_1:
    x[1] - 9 * norm0_L23[1] <= 1;
subject to norm0_L23_up_2:
    x[2] - 9 * norm0_L23[2] <= 1;
subject to norm0_L23_up_3:
    x[3] - 9 * norm0_L23[3] <= 1;
subject to norm0_L23_up_4:
    x[4] - 8 * norm0_L23[4] <= 2;
subject to norm0_L23_up_5:
    x[5] - 9 * norm0_L23[5] <= 1;
subject to norm0_L23_up_6:
    x[6] - 7 * norm0_L23[6] <= 3;
subject to norm0_L23_up_7:
    x[7] - 9 * norm0_L23[7] <= 1;
subject to norm0_L23_up_8:
    x[8] - 9 * norm0_L23[8] <= 1;
# norm0_L23.down: aux rows (breast_cancer_few_changes.nnq:23)
subject to norm0_L23_down_0:
    x[0] + norm0_L23[0] >= 2;
subject to norm0_L23_down_1:
    x[1] >= 1;
subject to norm0_L23_down_2:
    x[2] >= 1;
subject to norm0_L23_down_3:
    x[3] >= 1;
subject to norm0_L23_down_4:
    x[4] + norm0_L23[4] >= 2;
subject to norm0_L23_down_5:
    x[5] >= 1;
subject to norm0_L23_down_6:
    x[6] + 2 * norm0_L23[6] >= 3;
subject to norm0_L23_down_7:
    x[7] >= 1;
subject to norm0_L23_down_8:
    x[8] >= 1;
# few_changes: user rows (breast_cancer_few_changes.nnq:23)
subject to few_changes:
    norm0_L23[0] + norm0_L23[1] + norm0_L23[2] + norm0_L23[3] + norm0_L23[4] + norm0_L23[5]
    + norm0_L23[6] + norm0_L23[7] + norm0_L23[8] <= 2;
# abs_L20.split: aux rows (breast_cancer_few_changes.nnq:20)
subject to abs_L20_split_0:
    x[0] - abs_L20_up[0] + abs_L20_down[0] = 2;
subject to abs_L20_split_4:
    x[4] - abs_L20_up[1] + abs_L20_down[1] = 2;
subject to abs_L20_split_6:
    x[6] - abs_L20_up[2] + abs_L20_down[2] = 3;

