// shotbook's docs load nothing from the network, so MathJax (a CDN script) is not used:
// formulas show as their TeX source between \( \) or \[ \]. This file only stands in for it.
