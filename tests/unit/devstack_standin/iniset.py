"""iniset FILE SECTION OPTION VALUE, as devstack's inc/ini-config does."""
import configparser
import sys

path, section, option, value = sys.argv[1:5]
parser = configparser.ConfigParser(interpolation=None, strict=False,
                                   default_section='__no_default__')
parser.optionxform = str
parser.read(path)
if not parser.has_section(section):
    parser.add_section(section)
parser.set(section, option, value)
with open(path, 'w') as f:
    parser.write(f)
