namespace Jit.SecureWorld.TrustedApplications;

/// <summary>
/// The content keys provisioned in the secure world, by key ID: what a DRM system would have delivered in a
/// license. AES-128 keys only.
/// </summary>
public sealed class ContentKeys
{
    private readonly Dictionary<uint, byte[]> keys;

    public ContentKeys(IReadOnlyDictionary<uint, byte[]> keys)
    {
        this.keys = [];
        foreach (var (id, key) in keys)
        {
            if (key.Length != 16) throw new ArgumentException($"content key {id}: {key.Length} bytes, AES-128 needs 16");
            this.keys[id] = (byte[])key.Clone();
        }
    }

    /// <summary>
    /// The test keys the project's client programs and benchmarks use: key 1 is 00 01 … 0f, key 2 is the AES-128
    /// key of NIST SP 800-38A's CTR examples (F.5.1), key 3 is ff fe … f0.
    /// </summary>
    public static ContentKeys Test { get; } = new(new Dictionary<uint, byte[]>
    {
        [1] = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(),
        [2] = Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c"),
        [3] = Enumerable.Range(0, 16).Select(i => (byte)(0xFF - i)).ToArray(),
    });

    public IEnumerable<uint> Ids => keys.Keys;

    /// <summary>
    /// A copy of key <paramref name="id"/>, for the host to check what the secure world returned (tests, <c>jit
    /// bench</c>); a guest reaches the keys only through the content-decryption TA.
    /// </summary>
    public byte[] Key(uint id) => keys.TryGetValue(id, out var key) ? (byte[])key.Clone() : throw new KeyNotFoundException($"no content key {id}");

    internal bool TryGet(uint id, out byte[] key) => keys.TryGetValue(id, out key!);
}
