"""The parkour family: articulated 2D bodies against terrain height profiles.

``physics`` is the purpose-built planar engine (generalised coordinates, soft contacts, motors,
water, grasping); ``bodies`` describes the embodiments it simulates.
"""
