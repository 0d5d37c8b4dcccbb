using Jit.Runtime.SystemRegisters;

namespace Jit.Translator.Tests;

public class SystemRegisterNamesTests
{
    [Theory]
    [InlineData(3, 3, 13, 0, 2, "TPIDR_EL0")]
    [InlineData(3, 0, 1, 0, 0, "SCTLR_EL1")]
    [InlineData(3, 4, 12, 0, 0, "VBAR_EL2")]
    [InlineData(3, 0, 12, 11, 5, "ICC_SGI1R_EL1")]
    [InlineData(2, 0, 0, 2, 2, "MDSCR_EL1")]
    public void NamesAndEncodingsAgree(int op0, int op1, int crn, int crm, int op2, string name)
    {
        Assert.Equal(name, SystemRegisterNames.Name(op0, op1, crn, crm, op2));
        Assert.True(SystemRegisterNames.TryGetEncoding(name.ToLowerInvariant(), out var e));
        Assert.Equal((op0, op1, crn, crm, op2), e);
    }

    [Fact]
    public void UnnamedEncodingIsNull() => Assert.Null(SystemRegisterNames.Name(3, 7, 15, 2, 5));

    [Fact]
    public void DebugDataTransferRegisterIsNamedByDirection()
    {
        Assert.Equal("DBGDTRRX_EL0", SystemRegisterNames.Name(2, 3, 0, 5, 0));
        Assert.Equal("DBGDTRTX_EL0", SystemRegisterNames.Name(2, 3, 0, 5, 0, write: true));
        Assert.True(SystemRegisterNames.TryGetEncoding("DBGDTRTX_EL0", out var e));
        Assert.Equal((2, 3, 0, 5, 0), e);
    }
}
