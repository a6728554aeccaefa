* written by: nnlang 0.1.0 (--to mps)
* spec: examples/breast_cancer_adversarial.nnq
* options: encoding=bigm bounds=interval
* size: 39 variables, 8 binaries, 9 integers, 28 constraints, 101 nonzeros
* highs options: presolve_rule_off = 16384 (as nnlang solves it; for a HiGHS options file)
* fingerprint: aec8896e2dfdf5b6
NAME breast_cancer_adversarial
ROWS
 N  obj
* y.L1.eq: relu rows
 E  y_L1_eq_0
 E  y_L1_eq_1
 E  y_L1_eq_2
* y.L1.bigm_x: relu rows
 L  y_L1_bigm_x_0
 L  y_L1_bigm_x_1
 L  y_L1_bigm_x_2
* y.L1.bigm_s: relu rows
 L  y_L1_bigm_s_0
 L  y_L1_bigm_s_1
 L  y_L1_bigm_s_2
* y.L2.eq: relu rows
 E  y_L2_eq_0
 E  y_L2_eq_1
 E  y_L2_eq_2
* y.L2.bigm_x: relu rows
 L  y_L2_bigm_x_0
 L  y_L2_bigm_x_1
 L  y_L2_bigm_x_2
* y.L2.bigm_s: relu rows
 L  y_L2_bigm_s_0
 L  y_L2_bigm_s_1
 L  y_L2_bigm_s_2
* y.L3.eq: relu rows
 E  y_L3_eq_0
 E  y_L3_eq_1
* y.L3.bigm_x: relu rows
 L  y_L3_bigm_x_0
 L  y_L3_bigm_x_1
* y.L3.bigm_s: relu rows
 L  y_L3_bigm_s_0
 L  y_L3_bigm_s_1
* wrong_class: user rows (breast_cancer_adversarial.nnq:21)
 G  wrong_class
* abs_L19.split: aux rows (breast_cancer_adversarial.nnq:19)
 E  abs_L19_split_0
 E  abs_L19_split_4
 E  abs_L19_split_6
COLUMNS
    MARKER0  'MARKER'  'INTORG'
    x_0  y_L1_eq_0  0.09008344149091746
    x_0  y_L1_eq_1  0.04043779032384087
    x_0  y_L1_eq_2  -0.028675652413951765
    x_0  abs_L19_split_0  1
    x_1  obj  1
    x_1  y_L1_eq_0  0.06497769324259585
    x_1  y_L1_eq_1  -0.06822038870306178
    x_1  y_L1_eq_2  -0.050387812278264076
    x_2  obj  1
    x_2  y_L1_eq_0  0.05985462192135497
    x_2  y_L1_eq_1  0.07676969446218426
    x_2  y_L1_eq_2  -0.03782735843069925
    x_3  obj  1
    x_3  y_L1_eq_0  0.047026990995706106
    x_3  y_L1_eq_1  0.029872378793728147
    x_3  y_L1_eq_2  -0.042219316078413595
    x_4  y_L1_eq_0  0.007412736414342429
    x_4  y_L1_eq_1  0.08351946775344199
    x_4  y_L1_eq_2  0.004419767286652438
    x_4  abs_L19_split_4  1
    x_5  obj  1
    x_5  y_L1_eq_0  0.10590700728916307
    x_5  y_L1_eq_1  -0.1339241468872102
    x_5  y_L1_eq_2  -0.01854453874899696
    x_6  y_L1_eq_0  0.047540857882508177
    x_6  y_L1_eq_1  0.18262766473554176
    x_6  y_L1_eq_2  0.05668261004846894
    x_6  abs_L19_split_6  1
    x_7  obj  1
    x_7  y_L1_eq_0  0.024814530639945716
    x_7  y_L1_eq_1  -0.06371736549334718
    x_7  y_L1_eq_2  -0.10029661050842559
    x_8  obj  1
    x_8  y_L1_eq_0  0.10306311344434592
    x_8  y_L1_eq_1  -0.01761338996484023
    x_8  y_L1_eq_2  -0.004477605063875098
    MARKER0  'MARKER'  'INTEND'
    y_L1_N0  y_L1_eq_0  -1
    y_L1_N0  y_L1_bigm_x_0  1
    y_L1_N0  y_L2_eq_0  -1.6111123033108294
    y_L1_N0  y_L2_eq_1  0.3542123838149955
    y_L1_N0  y_L2_eq_2  1.3668092014490114
    y_L1_N1  y_L1_eq_1  -1
    y_L1_N1  y_L1_bigm_x_1  1
    y_L1_N1  y_L2_eq_0  1.389417116631657
    y_L1_N1  y_L2_eq_1  0.34448482842430994
    y_L1_N1  y_L2_eq_2  0.33025891132061774
    y_L1_N2  y_L1_eq_2  -1
    y_L1_N2  y_L1_bigm_x_2  1
    y_L1_N2  y_L2_eq_0  -1.3663982377562338
    y_L1_N2  y_L2_eq_1  -1.7445232031772462
    y_L1_N2  y_L2_eq_2  0.6321894069164169
    y_L1_s0  y_L1_eq_0  1
    y_L1_s0  y_L1_bigm_s_0  1
    y_L1_s1  y_L1_eq_1  1
    y_L1_s1  y_L1_bigm_s_1  1
    y_L1_s2  y_L1_eq_2  1
    y_L1_s2  y_L1_bigm_s_2  1
    MARKER1  'MARKER'  'INTORG'
    y_L1_z0  y_L1_bigm_x_0  -4.735714069299747
    y_L1_z0  y_L1_bigm_s_0  0.22041487058817044
    y_L1_z1  y_L1_bigm_x_1  -5.130765108523849
    y_L1_z1  y_L1_bigm_s_1  1.1395554755309185
    y_L1_z2  y_L1_bigm_x_2  -0.3926248400675519
    y_L1_z2  y_L1_bigm_s_2  2.6991565976521774
    MARKER1  'MARKER'  'INTEND'
    y_L2_N0  y_L2_eq_0  -1
    y_L2_N0  y_L2_bigm_x_0  1
    y_L2_N0  y_L3_eq_0  2.070808161169192
    y_L2_N0  y_L3_eq_1  0.13941818414849616
    y_L2_N1  y_L2_eq_1  -1
    y_L2_N1  y_L2_bigm_x_1  1
    y_L2_N1  y_L3_eq_0  -1.5862898295821182
    y_L2_N1  y_L3_eq_1  1.1026804601664246
    y_L2_N2  y_L2_eq_2  -1
    y_L2_N2  y_L2_bigm_x_2  1
    y_L2_N2  y_L3_eq_0  -1.5239807882378926
    y_L2_N2  y_L3_eq_1  0.9488918359787545
    y_L2_s0  y_L2_eq_0  1
    y_L2_s0  y_L2_bigm_s_0  1
    y_L2_s1  y_L2_eq_1  1
    y_L2_s1  y_L2_bigm_s_1  1
    y_L2_s2  y_L2_eq_2  1
    y_L2_s2  y_L2_bigm_s_2  1
    MARKER2  'MARKER'  'INTORG'
    y_L2_z0  y_L2_bigm_x_0  -8.092012471668536
    y_L2_z0  y_L2_bigm_s_0  7.203009483109621
    y_L2_z1  y_L2_bigm_x_1  -2.929666445945891
    y_L2_z1  y_L2_bigm_s_1  1.2001960053438585
    y_L2_z2  y_L2_bigm_x_2  -7.875723163345589
    y_L2_z2  y_L2_bigm_s_2  0.5397885657707017
    MARKER2  'MARKER'  'INTEND'
    y_L3_N0  y_L3_eq_0  -1
    y_L3_N0  y_L3_bigm_x_0  1
    y_L3_N0  wrong_class  -1.2
    y_L3_N1  y_L3_eq_1  -1
    y_L3_N1  y_L3_bigm_x_1  1
    y_L3_N1  wrong_class  1
    y_L3_s0  y_L3_eq_0  1
    y_L3_s0  y_L3_bigm_s_0  1
    y_L3_s1  y_L3_eq_1  1
    y_L3_s1  y_L3_bigm_s_1  1
    MARKER3  'MARKER'  'INTORG'
    y_L3_z0  y_L3_bigm_x_0  -17.487056905120966
    y_L3_z0  y_L3_bigm_s_0  15.91969944318392
    y_L3_z1  y_L3_bigm_x_1  -11.557782908418448
    y_L3_z1  y_L3_bigm_s_1  0.27408613336571325
    MARKER3  'MARKER'  'INTEND'
    abs_L19_up_0  obj  1
    abs_L19_up_0  abs_L19_split_0  -1
    abs_L19_up_4  obj  1
    abs_L19_up_4  abs_L19_split_4  -1
    abs_L19_up_6  obj  1
    abs_L19_up_6  abs_L19_split_6  -1
    abs_L19_down_0  obj  1
    abs_L19_down_0  abs_L19_split_0  1
    abs_L19_down_4  obj  1
    abs_L19_down_4  abs_L19_split_4  1
    abs_L19_down_6  obj  1
    abs_L19_down_6  abs_L19_split_6  1
    obj_constant  obj  -6
RHS
    RHS  y_L1_eq_0  0.7710958639090502
    RHS  y_L1_eq_1  -1.2819704388849378
    RHS  y_L1_eq_2  -0.0640299602389644
    RHS  y_L1_bigm_s_0  0.22041487058817044
    RHS  y_L1_bigm_s_1  1.1395554755309185
    RHS  y_L1_bigm_s_2  2.6991565976521774
    RHS  y_L2_eq_0  -0.9632396084690203
    RHS  y_L2_eq_1  0.5152528617022589
    RHS  y_L2_eq_2  0.5397885657707017
    RHS  y_L2_bigm_s_0  7.203009483109621
    RHS  y_L2_bigm_s_1  1.2001960053438585
    RHS  y_L2_bigm_s_2  0.5397885657707017
    RHS  y_L3_eq_0  -0.7300514385068761
    RHS  y_L3_eq_1  0.27408613336571325
    RHS  y_L3_bigm_s_0  15.91969944318392
    RHS  y_L3_bigm_s_1  0.27408613336571325
    RHS  abs_L19_split_0  2
    RHS  abs_L19_split_4  2
    RHS  abs_L19_split_6  3
BOUNDS
 LO BND  x_0  1
 UP BND  x_0  10
 LO BND  x_1  1
 UP BND  x_1  10
 LO BND  x_2  1
 UP BND  x_2  10
 LO BND  x_3  1
 UP BND  x_3  10
 LO BND  x_4  1
 UP BND  x_4  10
 LO BND  x_5  1
 UP BND  x_5  10
 LO BND  x_6  1
 UP BND  x_6  10
 LO BND  x_7  1
 UP BND  x_7  10
 LO BND  x_8  1
 UP BND  x_8  10
 LO BND  y_L1_N0  0
 UP BND  y_L1_N0  4.735714069299747
 LO BND  y_L1_N1  0
 UP BND  y_L1_N1  5.130765108523849
 LO BND  y_L1_N2  0
 UP BND  y_L1_N2  0.3926248400675519
 LO BND  y_L1_s0  0
 UP BND  y_L1_s0  0.22041487058817044
 LO BND  y_L1_s1  0
 UP BND  y_L1_s1  1.1395554755309185
 LO BND  y_L1_s2  0
 UP BND  y_L1_s2  2.6991565976521774
 LO BND  y_L1_z0  0
 UP BND  y_L1_z0  1
 LO BND  y_L1_z1  0
 UP BND  y_L1_z1  1
 LO BND  y_L1_z2  0
 UP BND  y_L1_z2  1
 LO BND  y_L2_N0  0
 UP BND  y_L2_N0  8.092012471668536
 LO BND  y_L2_N1  0
 UP BND  y_L2_N1  2.929666445945891
 LO BND  y_L2_N2  0
 UP BND  y_L2_N2  7.875723163345589
 LO BND  y_L2_s0  0
 UP BND  y_L2_s0  7.203009483109621
 LO BND  y_L2_s1  0
 UP BND  y_L2_s1  1.2001960053438585
 LO BND  y_L2_s2  0
 UP BND  y_L2_s2  0.5397885657707017
 LO BND  y_L2_z0  0
 UP BND  y_L2_z0  1
 LO BND  y_L2_z1  0
 UP BND  y_L2_z1  1
 LO BND  y_L2_z2  0
 UP BND  y_L2_z2  1
 LO BND  y_L3_N0  0
 UP BND  y_L3_N0  17.487056905120966
 LO BND  y_L3_N1  0
 UP BND  y_L3_N1  11.557782908418448
 LO BND  y_L3_s0  0
 UP BND  y_L3_s0  15.91969944318392
 LO BND  y_L3_s1  0
 UP BND  y_L3_s1  0.27408613336571325
 LO BND  y_L3_z0  0
 UP BND  y_L3_z0  1
 LO BND  y_L3_z1  0
 UP BND  y_L3_z1  1
 LO BND  abs_L19_up_0  0
 UP BND  abs_L19_up_0  8
 LO BND  abs_L19_up_4  0
 UP BND  abs_L19_up_4  8
 LO BND  abs_L19_up_6  0
 UP BND  abs_L19_up_6  7
 LO BND  abs_L19_down_0  0
 UP BND  abs_L19_down_0  1
 LO BND  abs_L19_down_4  0
 UP BND  abs_L19_down_4  1
 LO BND  abs_L19_down_6  0
 UP BND  abs_L19_down_6  2
 FX BND  obj_constant  1
ENDATA
