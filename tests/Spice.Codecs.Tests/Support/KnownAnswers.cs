namespace Spice.Codecs.Tests.Support;

/// <summary>
/// Known-answer vectors. The expected lengths and SHA-256 hashes were produced by running the reference C encoders
/// (spice-common common/quic.c and common/lz.c at commit de79bac, compiled outside the repository with a small
/// harness) on exactly the images <see cref="KnownAnswerCase.Pixels"/> generates. No reference code is in the repository.
/// </summary>
public static class KnownAnswers
{
    public static TheoryData<KnownAnswerCase> Quic =>
    [
        new KnownAnswerCase("q_rgb32_text", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 97, 61, true, 4, 1744, "a88ee9674c9a9e870cae6e2a84f35f6a8a9ee5deae1364d7d2cf771c48fb170c"),
        new KnownAnswerCase("q_rgb32_plasma", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Plasma, 256, 192, true, 4, 50692, "5d72fa5844bc11245310063355d335221600664b5c772aa6611599910251e4bd"),
        new KnownAnswerCase("q_rgb32_wide", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Plasma, 2500, 9, true, 4, 9928, "9b2941110466979432569ecbdaba3ebe0d635d0609244162eeac34689e22cd7b"),
        new KnownAnswerCase("q_rgb32_gradient_bu", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Gradient, 300, 37, false, 4, 11092, "4757a16f0c4a996df72f135d44725af54b5bd00f01e89011a8710dba816f8940"),
        new KnownAnswerCase("q_rgb32_noise", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 64, 64, true, 4, 12340, "3182cadd610b98157a0e1b939d0d14b14511eaba75de173ae8ebd8e22fb1450d"),
        new KnownAnswerCase("q_rgb32_text_big", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 640, 480, true, 4, 213416, "79ad1c9c5db0d4950fdd9e863aa397d5c4570f2be008ba176695d8f09f32b6cc"),
        new KnownAnswerCase("q_rgb24_plasma", SpiceBitmapFormat.TwentyFourBit, TestImages.Kind.Plasma, 123, 77, true, 3, 13324, "4724aa2d6f682e24109cb41f085bc112e00179aa695e71e739c2af270ac27d82"),
        new KnownAnswerCase("q_rgb16_text", SpiceBitmapFormat.SixteenBit, TestImages.Kind.Text, 130, 64, true, 2, 1416, "72063a232d9593d01fc34da581835294c3342d62a58608b81ad8d2693b6b2396"),
        new KnownAnswerCase("q_rgba_plasma", SpiceBitmapFormat.Rgba, TestImages.Kind.Plasma, 100, 50, true, 5, 9252, "e5bb4f7ccdc436d99d77496e9529af9fe0702fb825cf0e3e37f28e6ebef60e27"),
        new KnownAnswerCase("q_gray_plasma", SpiceBitmapFormat.EightBitAlpha, TestImages.Kind.Plasma, 77, 33, true, 1, 976, "bea7ec714ba4d0e845e84ee95ffb6f167b167bcb2c3d848a01a48b8b5002fd27"),
        new KnownAnswerCase("q_rgb32_tiny", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 1, 1, true, 4, 28, "644d7d55f2f31f4aa3a87863a3780baa04566a7583ec3841f0ac3fd4de8d431c"),
        new KnownAnswerCase("q_rgb32_column", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 1, 50, true, 4, 136, "e2a1699c4092ac1a3f0fc939100923865482e09d64066064ec8793498889e2cf"),
    ];

    public static TheoryData<KnownAnswerCase> Lz =>
    [
        new KnownAnswerCase("l_rgb32_text", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 200, 150, true, 8, 3472, "d05051c40deb7b18cc1ec48eb72c9fdec2983d2d425adb0412fb0c222f6f0c80"),
        new KnownAnswerCase("l_rgb32_text_big", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 640, 480, false, 8, 50707, "36be66af025428628ed17e3399e1c92f038f9611fe3b5bea8ee630ff4d89db8a"),
        new KnownAnswerCase("l_rgb32_plasma", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Plasma, 128, 96, true, 8, 36246, "daa17324c0e9a297062ef1fffc1728fe74e544f261b129aef109c2444d38c371"),
        new KnownAnswerCase("l_rgb32_noise", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 64, 64, true, 8, 12444, "ffa4ac5085532b012cbb5b268f23ec9e9959f0d679735868228a4e6ee237c930"),
        new KnownAnswerCase("l_rgb32_gradient", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Gradient, 333, 20, true, 8, 20217, "c69ca3bec480ac22874a8ea36da04e9c7cd162dde5c05061fc3888afcae403f1"),
        new KnownAnswerCase("l_rgb24_text", SpiceBitmapFormat.TwentyFourBit, TestImages.Kind.Text, 99, 41, true, 7, 95, "52bb00eee6afd80d261cdcceb59aa0566245ad54312a502c1ab5870cbd0c56fb"),
        new KnownAnswerCase("l_rgb16_text", SpiceBitmapFormat.SixteenBit, TestImages.Kind.Text, 170, 90, true, 6, 755, "8123b775698a6fb36e1ecc8dc9e096c69f4dea969621ee7a87957bc399ec3f78"),
        new KnownAnswerCase("l_rgba_text", SpiceBitmapFormat.Rgba, TestImages.Kind.Text, 100, 50, true, 9, 912, "02281b3f0e9c1a111ac410c91957554e85477b6abfd745874e1e3db9105d3fc5"),
        new KnownAnswerCase("l_plt8_text", SpiceBitmapFormat.EightBit, TestImages.Kind.Text, 190, 160, true, 5, 538, "5e47ca99b5b5bd14622657976b331349dc6f8bc8394b0522a4fe2af9b427cfd9"),
        new KnownAnswerCase("l_plt4le_text", SpiceBitmapFormat.FourBitLE, TestImages.Kind.Text, 91, 33, true, 3, 81, "8d2ec5e90bbfb977c0cdc0ce2ee26fd428e8340affb55b85ebd184212682798d"),
        new KnownAnswerCase("l_plt4be_text", SpiceBitmapFormat.FourBitBE, TestImages.Kind.Text, 91, 33, true, 4, 81, "a3cb297c3aa83d0e2d8bf0f0f7dd8435735b5c1ee3649209890b929b48e95a80"),
        new KnownAnswerCase("l_plt1le_text", SpiceBitmapFormat.OneBitLE, TestImages.Kind.Text, 77, 20, true, 1, 49, "2c15e8c6665084bad0195fe3ce7e86b5bc394a599722369bea006d34e982e248"),
        new KnownAnswerCase("l_plt1be_text", SpiceBitmapFormat.OneBitBE, TestImages.Kind.Text, 77, 20, true, 2, 49, "e811be0ce99fe2a859a15bdb54b5139d6adcfc54b9fe40f81a1a45be9d753e54"),
        new KnownAnswerCase("l_a8_plasma", SpiceBitmapFormat.EightBitAlpha, TestImages.Kind.Plasma, 64, 64, true, 11, 3806, "344a8ea7f943b688378ee1b1ad5b2c9997c350e4d61ea1d4634a662c11174245"),
        new KnownAnswerCase("l_rgb32_tiny", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 3, 1, true, 8, 38, "3306ba86cb055b30f4e447102858ba26dc13cd64ba8a8cb4ef5c1045193ef493"),
        new KnownAnswerCase("l_rgb32_one", SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 1, 1, true, 8, 32, "3e65d20dd5f11d0040de9a08969595f63d26df346d3b8ce736c7e0b2d28ba000"),
    ];
}
