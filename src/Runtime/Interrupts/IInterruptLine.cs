namespace Jit.Runtime.Interrupts;

/// <summary>A level-sensitive interrupt output (a timer's PPI, a device's SPI) wired to an interrupt controller.</summary>
public interface IInterruptLine
{
    void SetLevel(bool asserted);
}

/// <summary>A line connected to nothing.</summary>
public sealed class UnconnectedLine : IInterruptLine
{
    public static readonly UnconnectedLine Instance = new();
    public void SetLevel(bool asserted) { }
}
