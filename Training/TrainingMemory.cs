namespace FedActors.Training;

/// <summary>
/// What a hospital's local training holds in device memory, estimated on the CPU where no allocator can be asked:
/// the model four times over (weights, gradients, the optimiser's state, and a second copy such as MoCo's key encoder
/// or BYOL's target) plus one batch's activations, kept for the backward pass. The activations are taken as
/// <see cref="ActivationValuesPerInputValue"/> floats per input value: a small CNN's feature maps at full and halved
/// resolutions, two augmented views for contrastive methods, forward and backward. An estimate to pack slots by,
/// not a measurement: declare a hospital's figure (<c>devices.hospital-memory-mb</c>) where it is known.
/// </summary>
public static class TrainingMemory
{
    /// <summary>Copies of the model's weights a trainer holds: weights, gradients, optimiser state, a second encoder.</summary>
    public const int ModelCopies = 4;

    /// <summary>Floats of activations held per input value (image value) of a batch.</summary>
    public const int ActivationValuesPerInputValue = 64;

    /// <summary>The estimated bytes of training a model of <paramref name="parameterBytes"/> on batches of images of the given shape.</summary>
    /// <param name="parameterBytes">The model's weights, in bytes.</param>
    /// <param name="batchSize">Images per optimiser step.</param>
    /// <param name="channels">Channels per image.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    public static long Estimate(long parameterBytes, int batchSize, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameterBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        return checked(ModelCopies * parameterBytes + (long)batchSize * channels * height * width * sizeof(float) * ActivationValuesPerInputValue);
    }
}
