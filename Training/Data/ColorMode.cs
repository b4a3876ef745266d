namespace FedActors.Training.Data;

/// <summary>How decoded images are stored: one grey channel (ITU-R BT.601 luma) or three RGB channels.</summary>
public enum ColorMode
{
    /// <summary>One channel per pixel: RGB sources are converted to ITU-R BT.601 luma.</summary>
    Grey,
    /// <summary>Three channels per pixel, in red, green, blue order.</summary>
    Rgb,
}
