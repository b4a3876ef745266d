namespace FedActors.Training.Data;

/// <summary>Resizing of single 2D planes (slices), row-major.</summary>
public static class PlaneResampling
{
    /// <summary>Bilinear resize with pixel-centre alignment (as align_corners = false).</summary>
    public static float[] Bilinear(ReadOnlySpan<float> src, int height, int width, int outHeight, int outWidth)
    {
        var dst = new float[outHeight * outWidth];
        var sy = (double)height / outHeight;
        var sx = (double)width / outWidth;
        for (var y = 0; y < outHeight; y++)
        {
            var fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, height - 1);
            var y0 = (int)fy;
            var y1 = Math.Min(y0 + 1, height - 1);
            var wy = fy - y0;
            for (var x = 0; x < outWidth; x++)
            {
                var fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, width - 1);
                var x0 = (int)fx;
                var x1 = Math.Min(x0 + 1, width - 1);
                var wx = fx - x0;
                var top = src[y0 * width + x0] * (1 - wx) + src[y0 * width + x1] * wx;
                var bottom = src[y1 * width + x0] * (1 - wx) + src[y1 * width + x1] * wx;
                dst[y * outWidth + x] = (float)(top * (1 - wy) + bottom * wy);
            }
        }
        return dst;
    }

    /// <summary>Nearest-neighbour resize, for label maps (never invents a class).</summary>
    public static byte[] Nearest(ReadOnlySpan<byte> src, int height, int width, int outHeight, int outWidth)
    {
        var dst = new byte[outHeight * outWidth];
        for (var y = 0; y < outHeight; y++)
        {
            var sy = Math.Min(height - 1, (int)((y + 0.5) * height / outHeight));
            for (var x = 0; x < outWidth; x++)
                dst[y * outWidth + x] = src[sy * width + Math.Min(width - 1, (int)((x + 0.5) * width / outWidth))];
        }
        return dst;
    }
}
