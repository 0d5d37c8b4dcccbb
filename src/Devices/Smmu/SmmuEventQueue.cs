using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

/// <summary>
/// The event queue (IHI 0070, 3.5.2 and 7.2): the SMMU produces 32-byte records at SMMU_EVENTQ_PROD, software
/// consumes them at SMMU_EVENTQ_CONS. While SMMU_CR0.EVENTQEN = 0, or after a record could not be written
/// (SMMU_GERROR.EVENTQ_ABT_ERR, until acknowledged), events are lost. A full queue drops the record and sets the
/// overflow condition (PROD.OVFLG made different from CONS.OVACKFLG) if it is not already present. The
/// interrupt (IRQ_CTRL.EVENTQ_IRQEN) goes when a record makes the queue non-empty.
/// </summary>
public sealed partial class SmmuV3
{
    /// <summary>Reports <paramref name="e"/> to the observer and, if <paramref name="record"/>, to the event queue.</summary>
    private void Record(in SmmuEvent e, bool record)
    {
        EventObserver?.Invoke(e);
        if (!record || (cr0 & Cr0EventqEn) == 0 || ((gerror ^ gerrorn) & GerrorEventqAbort) != 0) return;
        if (eventQueue.IsFull)
        {
            if (eventOverflow == eventOverflowAcknowledged) eventOverflow = !eventOverflow;
            return;
        }
        Span<byte> raw = stackalloc byte[SmmuEvent.Size];
        e.Encode(raw);
        if (memory.Write(eventQueue.EntryAddress(eventQueue.Producer), raw) != GuestMemoryStatus.Ok)
        {
            RaiseGlobalError(GerrorEventqAbort);
            return;
        }
        bool wasEmpty = eventQueue.IsEmpty;
        eventQueue.Producer = eventQueue.Next(eventQueue.Producer);
        if (wasEmpty && (irqCtrl & IrqCtrlEventqEn) != 0)
        {
            if (eventIrq.Address == 0) Pulse(EventQueueInterrupt);
            else if (!SendMsi(eventIrq.Address, eventIrq.Data)) RaiseGlobalError(GerrorMsiEventqAbort);
        }
    }
}
