"""The upload form of a new area."""

from django import forms


class AreaUploadForm(forms.Form):
    """Name, orthophoto and optional height sources; file contents are checked by the upload service."""

    name = forms.CharField(max_length=200, help_text="How planners will find this area.")
    ortho = forms.FileField(
        label="Orthophoto (GeoTIFF)",
        help_text="RGB or RGB+NIR, 8 or 16 bit, georeferenced.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.jp2,image/tiff"}),
    )
    dsm = forms.FileField(
        label="DSM (GeoTIFF, optional)",
        required=False,
        help_text="Surface heights in metres.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff"}),
    )
    lidar = forms.FileField(
        label="LiDAR (LAS/LAZ, optional)",
        required=False,
        help_text="A classified point cloud of the same area.",
        widget=forms.ClearableFileInput(attrs={"accept": ".las,.laz"}),
    )
    epsg = forms.IntegerField(
        label="EPSG code (only if your files carry no CRS)",
        required=False,
        min_value=1024,
        max_value=999999,
        help_text="For example 2154 for Lambert-93 or 28992 for RD New.",
    )
