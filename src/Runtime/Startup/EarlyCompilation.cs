using System.Reflection;
using System.Runtime.CompilerServices;

namespace Jit.Runtime.Startup;

/// <summary>
/// Compiles the methods of every <see cref="CompiledEarlyAttribute"/> type on a background thread as soon as the
/// process starts. Tiered compilation is off (see Directory.Build.props), so each of the emulator's methods is
/// compiled fully optimised at its first call, and a boot's vCPU thread spent about 0.2 s in RyuJIT, most of
/// it in its first quarter-second (the interpreter's Execute alone is 6 KB of IL). The machine is built on the
/// main thread meanwhile, and the second core is free until the guest's first blocks get hot.
/// </summary>
public static class EarlyCompilation
{
    /// <summary>
    /// Starts compiling, in the order of <paramref name="assemblies"/> and then of their metadata; does nothing when
    /// the environment sets JIT_COMPILE_EARLY=off (for bisecting or timing start-up without it).
    /// </summary>
    public static void Start(params Assembly[] assemblies)
    {
        if (Environment.GetEnvironmentVariable("JIT_COMPILE_EARLY") == "off") return;
        new Thread(() => Compile(assemblies)) { IsBackground = true, Name = "jit early compile" }.Start();
    }

    /// <summary>Compiles the marked types' methods now, on the calling thread; returns how many it compiled.</summary>
    public static int Compile(IEnumerable<Assembly> assemblies)
    {
        int compiled = 0;
        foreach (Assembly assembly in assemblies)
            foreach (Type type in assembly.GetTypes())
            {
                if (!type.IsDefined(typeof(CompiledEarlyAttribute), inherit: false) || type.ContainsGenericParameters) continue;
                // Static fields first: RyuJIT folds a static readonly field of an initialised class into a
                // constant, as it would at a first call made after the machine was built.
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
                foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    if (method.IsAbstract || method.ContainsGenericParameters || (method.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0) continue;
                    try
                    {
                        RuntimeHelpers.PrepareMethod(method.MethodHandle);
                        compiled++;
                    }
                    catch (Exception e) when (e is BadImageFormatException or InvalidProgramException or NotSupportedException or ArgumentException)
                    {
                        // Only a start-up aid: whatever cannot be compiled ahead is compiled at its first call.
                    }
                }
            }
        return compiled;
    }
}
