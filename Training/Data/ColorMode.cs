namespace FedActors.Training.Data;

/// <summary>How decoded images are stored: one grey channel (ITU-R BT.601 luma) or three RGB channels.</summary>
public enum ColorMode
{
    Grey,
    Rgb,
}
