/* SPDX-License-Identifier: MIT */
/* string.c - memory and string functions (gcc may emit calls to mem*). */
#include "guest/rt/ukfrt.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;
	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strcpy(char *dst, const char *src)
{
	char *d = dst;
	while ((*d++ = *src++))
		;
	return dst;
}

char *strncpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	for (; i < n; i++)
		dst[i] = '\0';
	return dst;
}

char *strstr(const char *h, const char *n)
{
	size_t ln = strlen(n);
	if (!ln)
		return (char *)h;
	for (; *h; h++)
		if (*h == *n && !strncmp(h, n, ln))
			return (char *)h;
	return NULL;
}

static int digit(char c, int base)
{
	int v;
	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'z')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'Z')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+')
		p++;
	if ((base == 0 || base == 16) && p[0] == '0' &&
	    (p[1] == 'x' || p[1] == 'X') && digit(p[2], 16) >= 0) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	unsigned long long v = 0;
	const char *first = p;
	int d;
	while ((d = digit(*p, base)) >= 0) {
		if (v > (~0ULL - (unsigned)d) / (unsigned)base)
			v = ~0ULL; /* saturate on overflow */
		else
			v = v * (unsigned)base + (unsigned)d;
		p++;
	}
	if (end)
		*end = (char *)(p == first ? s : p);
	return v;
}

long long strtoll(const char *s, char **end, int base)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	int neg = *p == '-';
	if (neg)
		p++;
	char *e;
	unsigned long long u = strtoull(p, &e, base);
	if (end)
		*end = e == p ? (char *)s : e;
	if (neg)
		return u >= (1ULL << 63) ? (long long)(1ULL << 63)
					 : -(long long)u;
	return u > (1ULL << 63) - 1 ? (long long)((1ULL << 63) - 1)
				    : (long long)u;
}

int atoi(const char *s)
{
	return (int)strtoll(s, NULL, 10);
}
