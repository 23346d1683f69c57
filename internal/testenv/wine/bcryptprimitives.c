/*
 * A stand-in for Windows's bcryptprimitives.dll, which Wine 8 lacks: Go
 * 1.22 and later get their random bytes from its ProcessPrng. This one
 * takes them from RtlGenRandom (advapi32's SystemFunction036), which Wine
 * has. testenv.Wine builds it with mingw-w64 into the test prefix's
 * system32; it is never shipped.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
