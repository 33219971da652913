"""Every sentence of the report, in English and in Chinese (the lesson's language).

Each key maps to ``(english, chinese)``; ``{name}`` fields are filled with measured numbers by
:func:`translate`. Figure labels stay in math notation and ASCII, so no CJK font is needed.
"""

from __future__ import annotations

from cnnblocks._checks import check_choice

__all__ = ["LANGUAGES", "TEXT", "translate"]

LANGUAGES = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # Page furniture
    "title": ("Pooling and activations, every claim measured",
              "池化与激活函数：逐条验证课程中的结论"),
    "subtitle": (
        "The lesson \"CNN basics: pooling and activation functions\" taken claim by claim: each "
        "section states the claim, how cnnblocks measured it, what came out, and the verdict. "
        "Mode: {mode}; seed {seed}; generated {when} in {seconds:.1f} s.",
        "本报告逐条检验课程《深度学习入门基础CNN系列——池化与激活函数》中的结论：每一节给出结论、"
        "cnnblocks 的测量方法、测量结果和判定。运行模式：{mode}；随机种子 {seed}；生成于 {when}，"
        "耗时 {seconds:.1f} 秒。",
    ),
    "mode.quick": ("quick (smaller experiments; run `cnnblocks demo` for the full sizes)",
                   "快速（实验规模较小；完整规模请运行 `cnnblocks demo`）"),
    "mode.tiny": ("tiny (test run; numbers are only indicative)", "极小（测试运行，数字仅供参考）"),
    "mode.full": ("full", "完整"),
    "label.claim": ("Claim.", "结论："),
    "label.method": ("How it was measured.", "测量方法："),
    "label.verdict": ("Verdict.", "判定："),
    "label.environment": ("Versions, seed and machine", "版本、随机种子与机器"),
    "env.seed": ("seed", "随机种子"),
    "env.mode": ("mode", "运行模式"),
    "env.platform": ("platform", "平台"),
    "env.cpus": ("CPU cores", "CPU 核数"),
    "env.seconds": ("report time", "报告耗时"),
    "env.section_times": ("time per section (s)", "各节耗时（秒）"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    # 1. Pooling summarises a neighbourhood
    "s1.title": ("Pooling summarises a neighbourhood", "池化用邻域的统计特征代替该位置的输出"),
    "s1.claim": (
        "Pooling replaces the output at a position by a summary statistic of its neighbours: a 2x2 "
        "region becomes one pixel, either its maximum (max pooling) or its mean (average pooling).",
        "池化使用某一位置相邻输出的总体统计特征代替网络在该位置的输出：一个 2×2 区域池化成一个像素"
        "点，"
        "取最大值（最大池化）或平均值（平均池化）。",
    ),
    "s1.method": (
        "A 4x4 input pooled 2x2 with stride 2 by cnnblocks' max_pool and avg_pool, compared with "
        "the values worked out by hand for each window; then a handwritten digit (8x8, from the "
        "digits data set) and a sheet of 16 digits pooled, and every pooled value compared with "
        "the max and the mean of its own window.",
        "用 cnnblocks 的 max_pool 和 avg_pool 对一个 4×4 输入做 2×2、步幅 2 的池化，并与逐个窗口手"
        "算的结果"
        "比较；再对手写数字数据集中的一张 8×8 数字图像以及 16 个数字拼成的图做池化，并逐个检查每个"
        "输出"
        "是否等于其窗口的最大值和平均值。",
    ),
    "s1.fig1.alt": ("A 4x4 grid of numbers with four coloured 2x2 windows, and the two 2x2 outputs",
                    "4×4 数字网格及四个彩色 2×2 窗口，旁边是两个 2×2 输出"),
    "s1.fig1.caption": (
        "Each coloured square on the input is one window; the output cell of the same colour is "
        "its maximum (middle) or its mean (right).",
        "输入上每个彩色方框是一个池化窗口；同色的输出格是该窗口的最大值（中）或平均值（右）。",
    ),
    "s1.tab.window": ("window (row, col)", "窗口（行，列）"),
    "s1.tab.values": ("values in the window", "窗口内的数值"),
    "s1.tab.caption": (
        "Hand computation beside cnnblocks' output.",
        "手算结果与 cnnblocks 输出对照。",
    ),
    "s1.fig2.alt": ("A digit 3 and its max- and average-pooled versions",
                    "数字 3 及其最大池化和平均池化结果"),
    "s1.fig2.caption": (
        "Digit #{index} of the data set (a 3): 64 pixels become 16 after 2x2 pooling and 4 after "
        "4x4 pooling. Max pooling keeps the strokes' strongest values; average pooling blurs them.",
        "数据集中第 {index} 张图（数字 3）：2×2 池化后 64 个像素变为 16 个，4×4 池化后变为 4 个。"
        "最大池化保留笔画中最强的值，平均池化则使其变得模糊。",
    ),
    "s1.fig3.alt": ("Sixteen digits and the same sheet max- and average-pooled to 16x16",
                    "16 个数字拼成的图及其 16×16 的最大池化和平均池化结果"),
    "s1.fig3.caption": (
        "A 32x32 sheet of 16 digits pooled 2x2: a quarter of the values. Max pooling thickens the "
        "strokes, average pooling blurs them; on images this small the digits become hard to "
        "read, which is why a network pools feature maps after convolutions, not raw pixels.",
        "16 个数字拼成的 32×32 图像经过 2×2 池化：数值只剩四分之一。最大池化使笔画变粗，平均池化使"
        "其"
        "变模糊；在这么小的图像上数字会变得难以辨认，这也是网络在卷积提取特征之后才对特征图做池化，"
        "而不是直接池化原始像素的原因。",
    ),
    "s1.verdict": (
        "Holds. The worked example matches the hand computation exactly: {worked}. Every pooled "
        "value of the digit equals the max (resp. mean) of its own 2x2 window: {windows}. The "
        "digit "
        "goes from {before} values to {after}; its mean intensity is {mean_bright:.3f} after max "
        "pooling and {mean_avg:.3f} after average pooling (max pooling keeps the bright strokes).",
        "成立。手算示例与输出完全一致：{worked}。数字图像池化后的每个值都等于其 2×2 窗口的最大值"
        "（或平均值）：{windows}。数字图像由 {before} 个值变为 {after} 个；最大池化后平均亮度为 "
        "{mean_bright:.3f}，平均池化后为 {mean_avg:.3f}（最大池化保留了明亮的笔画）。",
    ),
    # 2. Stride, padding and the output size
    "s2.title": ("Stride, asymmetric padding and the output size",
                 "步幅、非对称填充与输出尺寸"),
    "s2.claim": (
        "With strides S_h, S_w and padding p_h1, p_h2 (top, bottom), p_w1, p_w2 (left, right), "
        "H_out = (H + p_h1 + p_h2 - k_h)/S_h + 1 and W_out = (W + p_w1 + p_w2 - k_w)/S_w + 1; the "
        "usual 2x2 window with stride 2 and no padding halves H and W and keeps the channels.",
        "步幅为 S_h、S_w，填充为 p_h1、p_h2（上、下）和 p_w1、p_w2（左、右）时，"
        "H_out = (H + p_h1 + p_h2 − k_h)/S_h + 1，W_out = (W + p_w1 + p_w2 − k_w)/S_w + 1；"
        "常用的 2×2 窗口、步幅 2、无填充使高和宽减半，通道数不变。",
    ),
    "s2.method": (
        "For each setting below, a random (2, 3, H, W) array was pooled by max_pool and avg_pool "
        "with the padding given per side, and the measured output shape was compared with the "
        "lesson's formula evaluated by hand (rounded down when the division is not exact, as every "
        "framework does, or up in ceil mode with PyTorch's and ONNX's rule).",
        "对下表每组设置，用 max_pool 和 avg_pool 对随机的 (2, 3, H, W) 数组按各边给定的填充做池化，"
        "并把实测输出形状与按课程公式手算的结果比较（除不尽时向下取整，与各框架一致；ceil 模式下向"
        "上取整，"
        "并遵循 PyTorch 与 ONNX 的规则）。",
    ),
    "s2.tab.input": ("input (N, C, H, W)", "输入 (N, C, H, W)"),
    "s2.tab.mode": ("rounding", "取整"),
    "s2.tab.expected": ("expected H_out x W_out", "预期 H_out × W_out"),
    "s2.tab.measured": ("measured shape", "实测形状"),
    "s2.tab.caption": (
        "The lesson's formula with the numbers filled in, and the shape max_pool returned "
        "(avg_pool returned the same).",
        "代入数值的课程公式，以及 max_pool 实际返回的形状（avg_pool 相同）。",
    ),
    "s2.note.typo": (
        "Note on the lesson's text: its W_out line reads (H + p_h1 + p_h2 - k_w)/s_w + 1; the "
        "width "
        "uses W + p_w1 + p_w2, as in the table. When the division is not exact the result is "
        "rounded "
        "down (floor mode) unless ceil mode is asked for; in ceil mode PyTorch and ONNX drop a "
        "last "
        "window that would start inside the bottom/right padding (the 5x5 row). "
        "`cnnblocks shape ... --compare` shows what other frameworks give.",
        "关于课程原文：其 W_out 公式写作 (H + p_h1 + p_h2 − k_w)/s_w + 1，宽度方向应为 W + p_w1 + "
        "p_w2，"
        "如上表所示。除不尽时向下取整（floor 模式），除非指定 ceil 模式；ceil 模式下，若最后一个窗"
        "口"
        "起点落在下方/右侧的填充内，PyTorch 和 ONNX 会舍去该窗口（见 5×5 一行）。"
        "`cnnblocks shape ... --compare` 可列出其他框架的结果。",
    ),
    "s2.verdict": (
        "Holds. {agree} of {total} settings gave exactly the shape the formula predicts; the "
        "2x2/stride-2 rows halve H and W and keep the 3 channels: {halves}.",
        "成立。{total} 组设置中有 {agree} 组的输出形状与公式预测完全一致；2×2、步幅 2 的各行高和宽"
        "减半且 3 个通道保持不变：{halves}。",
    ),
    # 3. Translation invariance
    "s3.title": ("Translation invariance", "平移不变性"),
    "s3.claim": (
        "When the input shifts a little, most outputs of a pooling layer stay the same: pooling "
        "cares that a feature is in a region, not exactly where.",
        "当输入数据做出少量平移时，经过池化函数后的大多数输出还能保持不变：池化关心的是某个特征"
        "是否出现在一个区域内，而不是它的精确位置。",
    ),
    "s3.method": (
        "{count} digits from the data set, each placed on a 12x12 zero canvas and shifted right "
        "and down by 1 and by 2 pixels. A conv layer of {filters} random 3x3 filters with ReLU "
        "gives "
        "a 10x10 feature map; it is compared before and after the shift at the same positions, "
        "as it is and after 2x2/stride-2 max (or average) pooling. Reported: the fraction of "
        "active outputs (non-zero before or after) whose value did not change, and the mean "
        "relative change sum|after - before| / sum|before|; right and down shifts averaged.",
        "从数据集中取 {count} 张数字图像，各自放在 12×12 的零画布上，向右和向下平移 1 个和 2 个像素"
        "。"
        "由 {filters} 个随机 3×3 卷积核加 ReLU 组成的卷积层得到 10×10 的特征图；在相同位置比较平移"
        "前后"
        "的特征图，分别比较原特征图和经过 2×2、步幅 2 的最大（或平均）池化后的结果。报告：活跃输出"
        "（平移前或后非零）中数值不变的比例，以及平均相对变化 sum|后 − 前| / sum|前|；向右与向下的"
        "结果取平均。",
    ),
    "s3.fig0.alt": (
        "A digit, the digit shifted one pixel right, and their conv and max-pooled maps",
        "一个数字及其右移一个像素后的图像，以及二者的卷积特征图和最大池化结果",
    ),
    "s3.fig0.caption": (
        "One digit and one filter: the conv map moves with the input, while many max-pooled "
        "cells keep their value because the strongest response stays inside the same 2x2 window.",
        "一个数字、一个卷积核：卷积特征图随输入一起移动，而最大池化后的许多格子保持不变，因为最强的"
        "响应"
        "仍落在同一个 2×2 窗口内。",
    ),
    "s3.tab.shift": ("shift", "平移"),
    "s3.tab.stage": ("feature map", "特征图"),
    "s3.tab.unchanged": ("active outputs unchanged", "活跃输出中不变的比例"),
    "s3.tab.change": ("mean relative change", "平均相对变化"),
    "s3.tab.caption": ("Measured on the digits.", "在手写数字数据上的测量结果。"),
    "s3.fig.alt": ("Bar charts of unchanged outputs and relative change, with and without pooling",
                   "有无池化时输出不变比例和相对变化的柱状图"),
    "s3.fig.caption": (
        "Left: share of active outputs that did not change. Right: mean relative change.",
        "左：活跃输出中保持不变的比例。右：平均相对变化。",
    ),
    "s3.note": (
        "A shift of 2 pixels equals the pooling stride: the pooled map then moves by exactly one "
        "cell, so at the same positions it changes about as much as an unpooled map shifted by "
        "one pixel. Invariance holds for shifts smaller than the window; stacking conv and pooling "
        "layers widens it.",
        "平移 2 个像素恰好等于池化步幅：池化后的特征图整体移动一格，因此在相同位置上的变化与未池化"
        "特征图平移 1 个像素时相当。平移不变性只对小于池化窗口的平移成立；多层卷积与池化叠加可扩大"
        "这一范围。",
    ),
    "s3.verdict": (
        "Holds for small shifts. After a 1-pixel shift, {max1:.1f}% of the max-pooled outputs kept "
        "their value against {conv1:.1f}% of the conv outputs, and the mean relative change fell "
        "from {rconv1:.3f} to {rmax1:.3f}. At 2 pixels (= the stride) pooling helps less: "
        "{max2:.1f}% vs {conv2:.1f}% unchanged, relative change {rmax2:.3f} vs {rconv2:.3f}.",
        "对小平移成立。平移 1 个像素后，最大池化输出中有 {max1:.1f}% 保持不变，而卷积输出只有 "
        "{conv1:.1f}%；平均相对变化从 {rconv1:.3f} 降到 {rmax1:.3f}。平移 2 个像素（等于步幅）时池"
        "化"
        "的作用变小：不变比例 {max2:.1f}% 对 {conv2:.1f}%，相对变化 {rmax2:.3f} 对 {rconv2:.3f}。",
    ),
    "s3.verdict.partly": (
        "Partly holds. Pooling clearly damps small shifts: after a 1-pixel shift the mean relative "
        "change of the feature map fell from {rconv1:.3f} without pooling to {rmax1:.3f} with 2x2 "
        "max pooling, and {max1:.1f}% of the active pooled outputs kept exactly their value "
        "against "
        "{conv1:.1f}% without pooling. But that is not \"most\" outputs on 8x8 digits, where one "
        "pixel is an eighth of the image. At 2 pixels (= the stride) pooling helps less: "
        "{max2:.1f}% "
        "vs {conv2:.1f}% unchanged, relative change {rmax2:.3f} vs {rconv2:.3f}.",
        "部分成立。池化明显减弱了小平移的影响：平移 1 个像素后，特征图的平均相对变化从无池化时的 "
        "{rconv1:.3f} 降到 2×2 最大池化后的 {rmax1:.3f}；池化后的活跃输出中有 {max1:.1f}% 完全不变"
        "，"
        "无池化时为 {conv1:.1f}%。但在 8×8 的数字上（一个像素是图像宽度的八分之一）这还谈不上"
        "\"大多数\"输出不变。平移 2 个像素（等于步幅）时池化作用更小：不变比例 {max2:.1f}% 对 "
        "{conv2:.1f}%，相对变化 {rmax2:.3f} 对 {rconv2:.3f}。",
    ),
    "s3.verdict.fails": (
        "Not confirmed in this run. After a 1-pixel shift, {max1:.1f}% of the max-pooled outputs "
        "kept their value against {conv1:.1f}% of the conv outputs (relative change {rmax1:.3f} vs "
        "{rconv1:.3f}); at 2 pixels {max2:.1f}% vs {conv2:.1f}%.",
        "本次运行未能证实。平移 1 个像素后，最大池化输出中有 {max1:.1f}% 保持不变，卷积输出为 "
        "{conv1:.1f}%（相对变化 {rmax1:.3f} 对 {rconv1:.3f}）；平移 2 个像素时为 {max2:.1f}% 对 "
        "{conv2:.1f}%。",
    ),
    # 4. Parameters and compute
    "s4.title": ("Smaller feature maps: fewer parameters, less compute",
                 "特征图变小：参数更少，计算更快"),
    "s4.claim": (
        "Pooling makes the feature maps smaller, so a fully connected layer after it needs far "
        "fewer neurons' worth of weights: less memory and faster computation.",
        "池化之后特征图会变得更小，如果后面连接的是全连接层，能有效地减小神经元的个数，节省存储空间"
        "并提高计算效率。",
    ),
    "s4.method": (
        "LeNet (conv 6@5x5, pool, conv 16@5x5, pool, fc 120, fc 84, fc 10) with and without its "
        "two 2x2 pools, on the 8x8 digits and on 28x28 MNIST-size inputs: the first fully "
        "connected layer's inputs, parameters (weights + biases) and multiplications per image "
        "counted from the shapes, and its float32 forward pass timed on a batch of {batch} "
        "(best of {repeats} runs).",
        "LeNet（卷积 6@5×5、池化、卷积 16@5×5、池化、全连接 120、84、10）分别保留和去掉两个 2×2 池"
        "化层，"
        "在 8×8 的手写数字和 28×28 的 MNIST 尺寸输入上：由形状计算第一个全连接层的输入数、参数量"
        "（权重 + 偏置）和每张图像的乘法次数，并在批大小 {batch} 上测量其 float32 前向计算时间"
        "（{repeats} 次运行中的最短时间）。",
    ),
    "s4.tab.input": ("input", "输入"),
    "s4.tab.pooled": ("pooling", "池化"),
    "s4.tab.features": ("fc1 inputs", "fc1 输入数"),
    "s4.tab.params": ("fc1 parameters", "fc1 参数量"),
    "s4.tab.mults": ("multiplies per image", "每张图像的乘法次数"),
    "s4.tab.time": ("fc1 forward, batch {batch} (ms)", "fc1 前向时间，批大小 {batch}（毫秒）"),
    "s4.tab.caption": ("The first fully connected layer (120 outputs).",
                       "第一个全连接层（120 个输出）。"),
    "s4.verdict": (
        "Holds. Without pooling the first fully connected layer has {p8:.0f}x the parameters on "
        "8x8 digits and {p28:.1f}x on 28x28 inputs, and its forward pass took {t8:.1f}x and "
        "{t28:.1f}x as long.",
        "成立。去掉池化后，第一个全连接层的参数量在 8×8 数字上是原来的 {p8:.0f} 倍，在 28×28 输入上"
        "是 "
        "{p28:.1f} 倍；其前向计算时间分别是原来的 {t8:.1f} 倍和 {t28:.1f} 倍。",
    ),
    # 5. Sigmoid vs ReLU
    "s5.title": ("Sigmoid and ReLU, and why σ′ <= 1/4", "Sigmoid 与 ReLU，以及 σ′ ≤ 1/4"),
    "s5.claim": (
        "Sigmoid y = 1/(1+e^−x) is flat for large |x|, and its derivative σ′(x) = σ(x)(1−σ(x)) = "
        "1/(2+e^x+e^−x) is at most 1/4, reached at x = 0; so by the chain rule "
        "∂L/∂x = ∂L/∂y·σ′(x) the gradient shrinks by at least 4x through each sigmoid. ReLU's "
        "derivative is 1 for x > 0 and passes the gradient on unchanged.",
        "Sigmoid 函数 y = 1/(1+e^−x) 在 |x| 较大时非常平缓，其导数 σ′(x) = σ(x)(1−σ(x)) = "
        "1/(2+e^x+e^−x) 的最大值为 1/4，在 x = 0 处取得；由链式法则 ∂L/∂x = ∂L/∂y·σ′(x)，"
        "梯度每经过一个 Sigmoid 至少缩小为原来的 1/4。ReLU 在 x > 0 时导数为 1，可将梯度完整地传递"
        "下去。",
    ),
    "s5.method": (
        "The lesson's figure redrawn from cnnblocks' sigmoid and relu over np.arange(-10, 10, "
        "0.1), "
        "with a second row of derivatives. Then, on 20001 points from -10 to 10 (step 0.001, "
        "x = 0 included), sigmoid_grad was compared with σ(1−σ), with the closed form "
        "1/(2+e^x+e^−x) written out independently, and with a central finite difference (h = "
        "1e-5); "
        "sigmoid_backward was run on random upstream gradients to check the 1/4 factor of the "
        "chain rule; relu_grad was checked to be exactly 1 for x > 0 and 0 for x <= 0.",
        "用 cnnblocks 的 sigmoid 和 relu 在 np.arange(-10, 10, 0.1) 上重画课程中的图，并在第二行画"
        "出导数。"
        "然后在 -10 到 10 的 20001 个点上（步长 0.001，包含 x = 0），把 sigmoid_grad 与 σ(1−σ)、"
        "独立写出的闭式 1/(2+e^x+e^−x) 以及中心差分（h = 1e-5）比较；用随机的上游梯度运行 "
        "sigmoid_backward，检验链式法则中的 1/4 因子；并检查 relu_grad 在 x > 0 时恰为 1、x ≤ 0 时"
        "为 0。",
    ),
    "s5.fig.alt": ("Sigmoid (red) and ReLU (green) curves with their derivatives below",
                   "Sigmoid（红）和 ReLU（绿）曲线，下方为其导数"),
    "s5.fig.caption": (
        "Top: the lesson's figure. Bottom: σ′ peaks at 1/4 at x = 0 and vanishes in both tails; "
        "ReLU′ is 0 for x <= 0 and 1 for x > 0.",
        "上：课程中的图。下：σ′ 在 x = 0 处取得最大值 1/4，两侧趋于 0；ReLU′ 在 x ≤ 0 时为 0，x > "
        "0 时为 1。",
    ),
    "s5.tab.check": ("check", "检查项"),
    "s5.tab.value": ("measured", "测量结果"),
    "s5.row.max": ("largest σ′(x) on the grid", "网格上 σ′(x) 的最大值"),
    "s5.row.bound": ("σ′(x) <= 1/4 at every point", "所有点上 σ′(x) ≤ 1/4"),
    "s5.row.fd": ("max |sigmoid_grad(x) − central difference|", "max |sigmoid_grad(x) − 中心差分|"),
    "s5.row.chain": ("max |∂L/∂x| / |∂L/∂y| through sigmoid_backward",
                     "经过 sigmoid_backward 后 |∂L/∂x| / |∂L/∂y| 的最大值"),
    "s5.row.relu": ("relu_grad = 1 for x > 0 and 0 for x <= 0 (every point)",
                    "relu_grad 在 x > 0 时为 1、x ≤ 0 时为 0（所有点）"),
    "s5.tab.caption": ("Numerical checks on 20001 points in [-10, 10].",
                       "在 [-10, 10] 的 20001 个点上的数值检验。"),
    "s5.tab2.caption": ("A few values (float64).", "部分数值（float64）。"),
    "s5.verdict": (
        "Holds. The largest σ′ is {peak:.17g}, at x = {at:g}; σ(1−σ) and 1/(2+e^x+e^−x) agree "
        "with sigmoid_grad to {err:.1e} and the finite difference to {fd:.1e}. Beyond |x| >= 5 "
        "σ′ is at most {tails:.4f}. Through sigmoid_backward the gradient kept at most "
        "{chain:.4f} of its size (the bound is 0.25). ReLU′ is exactly 1 for every x > 0.",
        "成立。σ′ 的最大值为 {peak:.17g}，位于 x = {at:g}；σ(1−σ) 与 1/(2+e^x+e^−x) 和 "
        "sigmoid_grad "
        "的差不超过 {err:.1e}，与中心差分的差不超过 {fd:.1e}。在 |x| ≥ 5 处 σ′ 不超过 {tails:.4f}。"
        "经过 sigmoid_backward 后梯度最多保留原来的 {chain:.4f}（上界为 0.25）。ReLU′ 在所有 x > 0 "
        "处恰为 1。",
    ),
    # 6. Vanishing gradients
    "s6.title": ("Vanishing gradients in deep sigmoid networks", "深层 Sigmoid 网络中的梯度消失"),
    "s6.claim": (
        "Each sigmoid passes back at most 1/4 of the gradient, so in a deep sigmoid network the "
        "early layers' gradients decay towards zero, worse when the initial weights are large "
        "(units saturate where σ′ ≈ 0); ReLU passes the gradient through with derivative 1 and "
        "does not vanish.",
        "每经过一个 Sigmoid，梯度最多只能传回 1/4，因此在深层 Sigmoid 网络中，靠前各层的梯度会衰减"
        "到"
        "接近于零；初始权重较大时更严重（神经元落入 σ′ ≈ 0 的饱和区）。ReLU 的导数为 1，能将梯度完"
        "整地"
        "传递，不会引起梯度消失。",
    ),
    "s6.method": (
        "Fully connected networks of {depth} hidden layers of width {width} (cnnblocks.models.mlp) "
        "on a batch of {batch} digits: one forward and backward pass of the cross-entropy at "
        "initialisation, float64, for sigmoid, tanh and ReLU and for Xavier, He and large "
        "N(0, 1) initial weights; the norm of each layer's weight gradient recorded, and across "
        "every sigmoid the ratio ||dL/dx|| / ||dL/dy|| set beside the 1/4 bound. Then the scale "
        "of the initial weights swept. Finally a {cdepth}-layer network of width {cwidth} trained "
        "for {epochs} epochs (SGD, learning rate {lr:g}, momentum 0.9) with sigmoid, ReLU and "
        "sigmoid + BatchNorm.",
        "在一批 {batch} 张数字图像上，用 {depth} 个宽度为 {width} 的隐藏层组成的全连接网络"
        "（cnnblocks.models.mlp），在初始化时做一次交叉熵的前向与反向计算（float64），激活函数分别"
        "为 "
        "Sigmoid、Tanh 和 ReLU，初始化分别为 Xavier、He 和较大的 N(0, 1)；记录每层权重梯度的范数，"
        "并把"
        "每个 Sigmoid 前后的比值 ||dL/dx|| / ||dL/dy|| 与上界 1/4 对照。接着改变初始权重的尺度。最"
        "后用 "
        "Sigmoid、ReLU 和 Sigmoid + BatchNorm 训练一个 {cdepth} 层、宽度 {cwidth} 的网络 {epochs} "
        "个轮次"
        "（SGD，学习率 {lr:g}，动量 0.9）。",
    ),
    "s6.fig1.alt": ("Per-layer gradient norms on a log scale for sigmoid, tanh and ReLU",
                    "Sigmoid、Tanh 和 ReLU 网络各层梯度范数（对数坐标）"),
    "s6.fig1.caption": (
        "||dL/dW|| of each of the {depth} + 1 layers at initialisation (log scale); layer 1 is "
        "nearest the input, where the backward pass arrives last.",
        "初始化时 {depth} + 1 层中每层的 ||dL/dW||（对数坐标）；第 1 层最靠近输入，反向传播最后到达"
        "这里。",
    ),
    "s6.tab.act": ("activation", "激活函数"),
    "s6.tab.init": ("initial weights", "初始化"),
    "s6.tab.ratio": ("first / last", "首层 / 末层"),
    "s6.tab.meand": ("mean f′(x)", "f′(x) 均值"),
    "s6.tab.sat": ("saturated units", "饱和神经元"),
    "s6.tab.caption": (
        "Gradient norms of the first and last layers at initialisation. Saturated: f′(x) < 0.01 "
        "for sigmoid/tanh, f′(x) = 0 for ReLU.",
        "初始化时首层与末层的梯度范数。饱和：Sigmoid/Tanh 为 f′(x) < 0.01，ReLU 为 f′(x) = 0。",
    ),
    "s6.fig2.alt": ("Measured gradient ratio across each sigmoid layer beside the 1/4 bound",
                    "每个 Sigmoid 层前后实测梯度比值与 1/4 上界"),
    "s6.fig2.caption": (
        "The sigmoid network ({init} initial weights): across every sigmoid the gradient keeps "
        "less than the dashed 1/4 bound (left); from one layer's weight gradient to the previous "
        "one's (right) the weights can partly make up for it.",
        "Sigmoid 网络（{init} 初始化）：每经过一个 Sigmoid，梯度保留的比例都低于虚线所示的 1/4 上界"
        "（左）；"
        "从一层的权重梯度到前一层（右），权重可以部分弥补这种衰减。",
    ),
    "s6.fig3.alt": ("Saturation and gradient norms against the scale of the initial weights",
                    "饱和比例与梯度范数随初始权重尺度的变化"),
    "s6.fig3.caption": (
        "A {depth}-layer sigmoid network with weights drawn from N(0, (scale/sqrt(fan_in))^2): "
        "large weights push units into the flat tails of σ.",
        "{depth} 层 Sigmoid 网络，权重取自 N(0, (scale/sqrt(fan_in))^2)：权重越大，神经元越容易落入"
        " σ 的平缓区域。",
    ),
    "s6.fig4.alt": ("Training curves of sigmoid, ReLU and sigmoid with BatchNorm",
                    "Sigmoid、ReLU 和 Sigmoid + BatchNorm 的训练曲线"),
    "s6.fig4.caption": (
        "The same {depth}-layer network, data, seed and optimiser; only the activation (and "
        "BatchNorm) differs.",
        "相同的 {depth} 层网络、数据、随机种子和优化器，只有激活函数（以及 BatchNorm）不同。",
    ),
    "s6.tab2.variant": ("network", "网络"),
    "s6.tab2.acc": ("final test accuracy", "最终测试准确率"),
    "s6.tab2.first": ("mean ||dL/dW_1|| during training", "训练中 ||dL/dW_1|| 的均值"),
    "s6.tab2.caption": ("After {epochs} epochs.", "训练 {epochs} 个轮次后。"),
    "s6.note": (
        "The 1/4 bound is on the sigmoid alone. Between one layer's weight gradient and the "
        "previous one's the chain rule also multiplies by a weight matrix, whose norm can be "
        "above or below 1, so that per-layer factor can lie on either side of 1/4.",
        "1/4 的上界只针对 Sigmoid 本身。从一层的权重梯度到前一层，链式法则还要乘以权重矩阵，其范数"
        "可能大于或小于 1，因此逐层的缩小因子可能高于也可能低于 1/4。",
    ),
    "s6.v.holds": ("Holds.", "成立。"),
    "s6.v.partly": ("Holds, with one correction.", "基本成立，但有一处需要修正。"),
    "s6.v.fails": ("Not confirmed in this run.", "本次运行未能证实。"),
    "s6.v.vanish": (
        "With {depth} hidden layers the first layer's gradient is {sig:.1e} times the last "
        "layer's for sigmoid (Xavier weights) against {relu:.2g} for ReLU (He weights).",
        "在 {depth} 个隐藏层时，Sigmoid（Xavier 初始化）网络首层梯度是末层的 {sig:.1e} 倍，"
        "而 ReLU（He 初始化）为 {relu:.2g} 倍。",
    ),
    "s6.v.vanish.no": (
        "The first/last gradient ratio was {sig:.1e} for sigmoid and {relu:.2g} for ReLU: no "
        "clear vanishing in this run.",
        "首层/末层梯度比 Sigmoid 为 {sig:.1e}，ReLU 为 {relu:.2g}：本次运行中没有明显的梯度消失。",
    ),
    "s6.v.bound": (
        "Across every sigmoid the gradient kept at most {maxr:.3f} of its norm (bound 0.25); "
        "from layer to layer the weight gradient shrank by a typical factor of {per_layer:.3f}.",
        "每经过一个 Sigmoid，梯度范数最多保留 {maxr:.3f}（上界 0.25）；逐层看，权重梯度的典型缩小"
        "因子为 {per_layer:.3f}。",
    ),
    "s6.v.bound.no": (
        "Across a sigmoid the gradient kept up to {maxr:.3f} of its norm, above the 0.25 bound.",
        "经过 Sigmoid 的梯度范数最多保留 {maxr:.3f}，超过了 0.25 的上界。",
    ),
    "s6.v.large": (
        "Larger initial weights made it worse: as the weight scale grew from {s_small:g} to "
        "{s_large:g}, saturated units rose from {sat_small:.1f}% to {sat_large:.1f}% and the first "
        "layer's gradient fell from {g_small:.1e} to {g_large:.1e}.",
        "更大的初始权重使问题更严重：权重尺度从 {s_small:g} 增大到 {s_large:g} 时，饱和神经元从 "
        "{sat_small:.1f}% 增加到 {sat_large:.1f}%，首层梯度从 {g_small:.1e} 降到 {g_large:.1e}。",
    ),
    "s6.v.large.no": (
        "Large initial weights do saturate units (from {sat_small:.1f}% to {sat_large:.1f}% as the "
        "weight scale grows from {s_small:g} to {s_large:g}), but here the first layer's gradient "
        "grew with the scale, from {g_small:.1e} to {g_large:.1e}: the larger weight matrices "
        "amplify the backward signal more than the saturated sigmoids damp it, and the vanishing "
        "is worst with small weights. So the lesson's \"large weights make it worse\" is measured "
        "true of saturation, not of the gradient's size.",
        "较大的初始权重确实会使神经元饱和（权重尺度从 {s_small:g} 增大到 {s_large:g} 时，饱和比例从"
        " "
        "{sat_small:.1f}% 增加到 {sat_large:.1f}%），但这里首层梯度随尺度增大而增大，从 "
        "{g_small:.1e} "
        "增加到 {g_large:.1e}：更大的权重矩阵对反向信号的放大超过了饱和 Sigmoid 的衰减，梯度消失在"
        "权重"
        "较小时最严重。因此，课程中\"初始权重大时更严重\"的说法在饱和程度上得到证实，在梯度大小上则"
        "没有。",
    ),
    "s6.v.training": (
        "After {epochs} epochs the test accuracy was {acc_sig:.1f}% for sigmoid, {acc_relu:.1f}% "
        "for ReLU and {acc_bn:.1f}% for sigmoid + BatchNorm.",
        "训练 {epochs} 个轮次后，测试准确率 Sigmoid 为 {acc_sig:.1f}%，ReLU 为 {acc_relu:.1f}%，"
        "Sigmoid + BatchNorm 为 {acc_bn:.1f}%。",
    ),
    # 7. LeNet on the digits
    "s7.title": ("LeNet on the digits: pooling and activation choices",
                 "LeNet 识别手写数字：池化与激活函数的选择"),
    "s7.claim": (
        "Networks today use ReLU rather than sigmoid because sigmoid's gradients decay, so a "
        "sigmoid network learns more slowly; max and average pooling are the two usual ways to "
        "summarise a window.",
        "目前用得较多的激活函数是 ReLU 而不是 Sigmoid，因为 Sigmoid 在反向传播中容易造成梯度衰减，"
        "使网络学得更慢；平均池化和最大池化是两种常用的池化方法。",
    ),
    "s7.method": (
        "LeNet (cnnblocks.models.lenet) trained on the 8x8 digits (75% train, 25% test, "
        "stratified) "
        "for {epochs} epochs with Adam (learning rate 0.003, batch 32), the same seed and data for "
        "the four combinations of max/average pooling and ReLU/sigmoid; test accuracy per epoch "
        "and the confusion matrix of the final model.",
        "在 8×8 手写数字上训练 LeNet（cnnblocks.models.lenet；75% 训练、25% 测试，分层抽样）"
        "{epochs} 个"
        "轮次，优化器 Adam（学习率 0.003，批大小 32），最大/平均池化与 ReLU/Sigmoid 的四种组合使用"
        "相同的"
        "随机种子和数据；记录每轮的测试准确率和最终模型的混淆矩阵。",
    ),
    "s7.tab.act": ("activation", "激活函数"),
    "s7.tab.pool": ("pooling", "池化"),
    "s7.tab.acc": ("final test accuracy", "最终测试准确率"),
    "s7.tab.best": ("best epoch", "最佳轮次"),
    "s7.tab.time": ("training time (s)", "训练时间（秒）"),
    "s7.tab.caption": ("On {n} test digits.", "在 {n} 张测试图像上。"),
    "s7.fig1.alt": ("Test accuracy per epoch for the four LeNet variants",
                    "四种 LeNet 变体每轮的测试准确率"),
    "s7.fig1.caption": ("Test accuracy after each epoch.", "每个轮次后的测试准确率。"),
    "s7.fig2.alt": ("Four confusion matrices of the digit classifiers", "四个数字分类器的混淆矩阵"),
    "s7.fig2.caption": (
        "Confusion matrices on the test set: row = true digit, column = predicted digit.",
        "测试集上的混淆矩阵：行为真实数字，列为预测数字。",
    ),
    "s7.never": ("not reached", "未达到"),
    "s7.verdict": (
        "Holds: ReLU learns faster. Mean test accuracy over the {epochs} epochs: ReLU {mrm:.1f}% "
        "(max pooling) and {mra:.1f}% (average pooling) against sigmoid {msm:.1f}% and {msa:.1f}%; "
        "epochs to reach 90%: ReLU {erm} and {era}, sigmoid {esm} and {esa}. Final test accuracy: "
        "ReLU {rm:.1f}% / {ra:.1f}%, sigmoid {sm:.1f}% / {sa:.1f}% (max / average pooling).",
        "成立：ReLU 学得更快。{epochs} 个轮次的平均测试准确率：ReLU 为 {mrm:.1f}%（最大池化）和 "
        "{mra:.1f}%（平均池化），Sigmoid 为 {msm:.1f}% 和 {msa:.1f}%；达到 90% 所需轮次：ReLU 为 "
        "{erm} "
        "和 {era}，Sigmoid 为 {esm} 和 {esa}。最终测试准确率：ReLU {rm:.1f}% / {ra:.1f}%，Sigmoid "
        "{sm:.1f}% / {sa:.1f}%（最大/平均池化）。",
    ),
    "s7.verdict.fails": (
        "Not confirmed in this run. Mean test accuracy over the {epochs} epochs: ReLU {mrm:.1f}% / "
        "{mra:.1f}%, sigmoid {msm:.1f}% / {msa:.1f}% (max / average pooling); final: ReLU "
        "{rm:.1f}% / {ra:.1f}%, sigmoid {sm:.1f}% / {sa:.1f}%.",
        "本次运行未能证实。{epochs} 个轮次的平均测试准确率：ReLU {mrm:.1f}% / {mra:.1f}%，Sigmoid "
        "{msm:.1f}% / {msa:.1f}%（最大/平均池化）；最终：ReLU {rm:.1f}% / {ra:.1f}%，Sigmoid "
        "{sm:.1f}% / {sa:.1f}%。",
    ),
}


def translate(lang: str, key: str, **values: object) -> str:
    """``TEXT[key]`` in ``lang`` (``'en'`` or ``'zh'``) with ``values`` filled in."""
    check_choice(lang, LANGUAGES, func="translate", name="lang")
    english, chinese = TEXT[key]
    template = chinese if lang == "zh" else english
    return template.format(**values) if values else template
