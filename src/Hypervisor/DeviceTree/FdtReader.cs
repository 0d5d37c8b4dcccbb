using System.Buffers.Binary;
using System.Text;

namespace Jit.Hypervisor.DeviceTree;

/// <summary>A blob that is not a well-formed flattened device tree; the message says where and why.</summary>
public sealed class FdtFormatException(string message) : Exception(message);

/// <summary>
/// Parses a flattened device tree (Devicetree Specification v0.4, chapter 5) into <see cref="FdtNode"/>s,
/// checking every offset and length against the blob: a malformed one raises <see cref="FdtFormatException"/>,
/// never reads past the end.
/// </summary>
public static class FdtReader
{
    private const uint Magic = 0xD00D_FEED;
    private const uint BeginNodeToken = 1, EndNodeToken = 2, PropToken = 3, NopToken = 4, EndToken = 9;
    private const int MaxDepth = 64;

    public static FdtNode Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 40 || BinaryPrimitives.ReadUInt32BigEndian(blob) != Magic)
            throw new FdtFormatException("not a flattened device tree (no 0xd00dfeed magic)");
        uint total = Word(blob, 4);
        if (total > blob.Length) throw new FdtFormatException($"truncated: the header says {total} bytes, there are {blob.Length}");
        blob = blob[..(int)total];
        uint version = Word(blob, 20);
        if (version < 16) throw new FdtFormatException($"version {version} is older than 16");
        var structure = Block(blob, Word(blob, 8), Word(blob, 36), "structure");
        var strings = Block(blob, Word(blob, 12), Word(blob, 32), "strings");

        int at = 0;
        FdtNode? root = null;
        var open = new Stack<FdtNode>();
        while (true)
        {
            uint token = Token(structure, ref at);
            switch (token)
            {
                case NopToken:
                    continue;
                case BeginNodeToken:
                {
                    int end = structure[at..].IndexOf((byte)0);
                    if (end < 0) throw new FdtFormatException($"node name at structure offset {at:#x} has no terminating NUL");
                    var node = new FdtNode(Encoding.ASCII.GetString(structure.Slice(at, end)));
                    at = Align(at + end + 1);
                    if (open.Count == 0)
                    {
                        if (root is not null) throw new FdtFormatException("more than one root node");
                        root = node;
                    }
                    else open.Peek().Children.Add(node);
                    if (open.Count == MaxDepth) throw new FdtFormatException($"nodes nested deeper than {MaxDepth}");
                    open.Push(node);
                    break;
                }
                case EndNodeToken:
                    if (open.Count == 0) throw new FdtFormatException($"END_NODE at structure offset {at - 4:#x} closes no node");
                    open.Pop();
                    break;
                case PropToken:
                {
                    if (open.Count == 0) throw new FdtFormatException($"property at structure offset {at - 4:#x} outside every node");
                    uint length = Token(structure, ref at), nameOffset = Token(structure, ref at);
                    if (length > structure.Length - at) throw new FdtFormatException($"property at structure offset {at - 12:#x} runs past the structure block");
                    if (nameOffset >= strings.Length) throw new FdtFormatException($"property name offset {nameOffset:#x} is outside the strings block");
                    int nameEnd = strings[(int)nameOffset..].IndexOf((byte)0);
                    if (nameEnd < 0) throw new FdtFormatException($"property name at strings offset {nameOffset:#x} has no terminating NUL");
                    string name = Encoding.ASCII.GetString(strings.Slice((int)nameOffset, nameEnd));
                    open.Peek().Properties.Add((name, structure.Slice(at, (int)length).ToArray()));
                    at = Align(at + (int)length);
                    break;
                }
                case EndToken:
                    if (open.Count != 0) throw new FdtFormatException($"the structure block ends with {open.Count} node(s) open");
                    return root ?? throw new FdtFormatException("no root node");
                default:
                    throw new FdtFormatException($"unknown token {token:#x} at structure offset {at - 4:#x}");
            }
        }
    }

    private static uint Word(ReadOnlySpan<byte> blob, int offset) => BinaryPrimitives.ReadUInt32BigEndian(blob[offset..]);

    private static ReadOnlySpan<byte> Block(ReadOnlySpan<byte> blob, uint offset, uint size, string what)
    {
        if (offset > blob.Length || size > blob.Length - offset)
            throw new FdtFormatException($"the {what} block ({size} bytes at {offset:#x}) lies outside the {blob.Length}-byte blob");
        return blob.Slice((int)offset, (int)size);
    }

    private static uint Token(ReadOnlySpan<byte> structure, ref int at)
    {
        if (at > structure.Length - 4) throw new FdtFormatException("the structure block ends without an END token");
        uint t = BinaryPrimitives.ReadUInt32BigEndian(structure[at..]);
        at += 4;
        return t;
    }

    private static int Align(int at) => (at + 3) & ~3;
}
